#include <gtest/gtest.h>

#include "satx/io/georef.hpp"

using satx::io::parse_tile_path;
using satx::io::tile_bounds;
using satx::io::TileXYZ;

TEST(TileBounds, MatchesKnownWebMercatorTiles) {
  // The top-left tile of zoom 1 spans the north-west quadrant up to the Mercator limit.
  auto b = tile_bounds({1, 0, 0});
  EXPECT_DOUBLE_EQ(b.west, -180.0);
  EXPECT_DOUBLE_EQ(b.east, 0.0);
  EXPECT_NEAR(b.north, 85.0511287798066, 1e-10);
  EXPECT_NEAR(b.south, 0.0, 1e-12);
  // Zoom 2, x=1, y=1: just north-west of (0, 0); north edge at atan(sinh(pi/2)).
  b = tile_bounds({2, 1, 1});
  EXPECT_DOUBLE_EQ(b.west, -90.0);
  EXPECT_DOUBLE_EQ(b.east, 0.0);
  EXPECT_NEAR(b.north, 66.51326044311186, 1e-10);
  EXPECT_NEAR(b.south, 0.0, 1e-12);
  // A zoom-17 tile over Berlin (Brandenburg Gate at 13.3777 E, 52.5163 N) contains it.
  b = tile_bounds({17, 70406, 42987});
  EXPECT_LT(b.west, 13.3777);
  EXPECT_GT(b.east, 13.3777);
  EXPECT_LT(b.south, 52.5163);
  EXPECT_GT(b.north, 52.5163);
  EXPECT_NEAR(b.east - b.west, 360.0 / (1 << 17), 1e-12);
}

TEST(ParseTilePath, ReadsZxyFolders) {
  auto tile = parse_tile_path("tiles/17/70406/42987.png");
  ASSERT_TRUE(tile);
  EXPECT_EQ(*tile, (TileXYZ{17, 70406, 42987}));
  tile = parse_tile_path("/data/run/3/5/2.jpg");
  ASSERT_TRUE(tile);
  EXPECT_EQ(*tile, (TileXYZ{3, 5, 2}));
}

TEST(ParseTilePath, ReadsLabelMakerNames) {
  auto tile = parse_tile_path("labels/70406-42987-17.jpg");
  ASSERT_TRUE(tile);
  EXPECT_EQ(*tile, (TileXYZ{17, 70406, 42987}));
}

TEST(ParseTilePath, RejectsNamesWithoutCoordinates) {
  EXPECT_FALSE(parse_tile_path("Forest/Forest_1.jpg"));
  EXPECT_FALSE(parse_tile_path("a/b/c.jpg"));
  EXPECT_FALSE(parse_tile_path("5/2.jpg"));               // only two levels
  EXPECT_FALSE(parse_tile_path("tiles/2/4/1.png"));       // x outside the 4x4 grid of zoom 2
  EXPECT_FALSE(parse_tile_path("1-2-3-4.png"));           // four numbers
  EXPECT_FALSE(parse_tile_path("5-9-3.png"));             // y = 9 outside the 8x8 grid of zoom 3
  EXPECT_FALSE(parse_tile_path("31/0/0.png"));            // zoom beyond 30
  EXPECT_FALSE(parse_tile_path("-1-2-3.png"));
}
