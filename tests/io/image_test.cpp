// Tile decoding: every format and channel case, bad files, the size guard. Fixtures are written
// at test time (OpenCV for <= 4 channels, io::write_tiff or hand-built bytes beyond).
#include <algorithm>
#include <cstring>
#include <random>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "satx/core/error.hpp"
#include "satx/io/image.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using satx::io::DecodeOptions;
using satx::io::decode_tile;

namespace {

cv::Mat random_image(int rows, int cols, int type, double low, double high, unsigned seed) {
  // RNG::fill takes at most 4 channels of bounds: fill one wide plane, then fold it into bands.
  const int bands = CV_MAT_CN(type);
  cv::Mat flat(rows, cols * bands, CV_MAT_DEPTH(type));
  cv::RNG rng(seed);
  rng.fill(flat, cv::RNG::UNIFORM, low, high);
  return flat.reshape(bands);
}

std::vector<uint8_t> bytes_of(const fs::path& path) {
  std::string text = satx::testing::read_text(path);
  return {text.begin(), text.end()};
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes, size_t count) {
  satx::testing::write_text(path, std::string(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(count)));
}

DecodeOptions channels(int count) {
  DecodeOptions options;
  options.channels = count;
  return options;
}

// The BadData message for `path`, checking that it names the file.
std::string bad_data_message(const fs::path& path, const DecodeOptions& options = {}) {
  try {
    decode_tile(path.string(), options);
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << path << " decoded but should not have";
  return "";
}

// The documented 16-bit rule, computed independently by sorting: 0.1 / 99.9 percentile ranks,
// gain capped at 1 for integer data.
cv::Mat expected_stretch(const cv::Mat& source) {
  std::vector<uint16_t> values(source.ptr<uint16_t>(), source.ptr<uint16_t>() + source.total() * source.channels());
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  double low = values[static_cast<size_t>(std::floor(0.001 * (n - 1)))];
  double high = values[static_cast<size_t>(std::ceil(0.999 * (n - 1)))];
  if (high - low < 255) {
    low = std::max(0.0, std::floor((low + high) / 2 - 127.5));
    high = std::min(65535.0, low + 255);
    low = high - 255;
  }
  cv::Mat result;
  source.convertTo(result, CV_8U, 255.0 / (high - low), -low * 255.0 / (high - low));
  return result;
}

// An uncompressed, planar-separate (one plane per band) TIFF built by hand, the layout many
// GIS tools write for multispectral scenes.
std::vector<uint8_t> planar_tiff(const cv::Mat& bands) {
  int w = bands.cols, h = bands.rows, n = bands.channels();
  std::vector<cv::Mat> planes;
  cv::split(bands, planes);
  std::vector<uint8_t> out = {'I', 'I', 42, 0, 0, 0, 0, 0};
  auto u16 = [&](uint16_t v) { out.push_back(v & 0xff); out.push_back(v >> 8); };
  auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) out.push_back((v >> (8 * i)) & 0xff); };
  std::vector<uint32_t> offsets;
  for (const cv::Mat& plane : planes) {
    offsets.push_back(static_cast<uint32_t>(out.size()));
    out.insert(out.end(), plane.data, plane.data + plane.total());
  }
  uint32_t offsets_at = static_cast<uint32_t>(out.size());
  for (uint32_t o : offsets) u32(o);
  uint32_t counts_at = static_cast<uint32_t>(out.size());
  for (int i = 0; i < n; ++i) u32(static_cast<uint32_t>(w * h));
  uint32_t bits_at = static_cast<uint32_t>(out.size());
  for (int i = 0; i < n; ++i) u16(8);
  uint32_t ifd = static_cast<uint32_t>(out.size());
  std::memcpy(out.data() + 4, &ifd, 4);
  struct Entry { uint16_t tag, type; uint32_t count, value; };
  std::vector<Entry> entries = {{256, 4, 1, uint32_t(w)}, {257, 4, 1, uint32_t(h)}, {258, 3, uint32_t(n), bits_at},
                                {259, 3, 1, 1}, {262, 3, 1, 1}, {273, 4, uint32_t(n), offsets_at},
                                {277, 3, 1, uint32_t(n)}, {278, 4, 1, uint32_t(h)}, {279, 4, uint32_t(n), counts_at},
                                {284, 3, 1, 2}};
  u16(static_cast<uint16_t>(entries.size()));
  for (const Entry& e : entries) {
    u16(e.tag);
    u16(e.type);
    u32(e.count);
    if (e.type == 3 && e.count == 1) { u16(static_cast<uint16_t>(e.value)); u16(0); }
    else u32(e.value);
  }
  u32(0);
  return out;
}

}  // namespace

TEST(ImageDecode, ReadsJpegAsRgbLikeOpenCv) {
  satx::testing::TempDir dir;
  cv::Mat bgr = random_image(40, 56, CV_8UC3, 0, 255, 1);
  cv::GaussianBlur(bgr, bgr, cv::Size(5, 5), 0);
  cv::imwrite((dir / "a.jpg").string(), bgr);
  satx::io::Tile tile = decode_tile((dir / "a.jpg").string());
  cv::Mat reference;
  cv::cvtColor(cv::imread((dir / "a.jpg").string(), cv::IMREAD_COLOR), reference, cv::COLOR_BGR2RGB);
  ASSERT_EQ(tile.pixels.type(), CV_8UC3);
  EXPECT_EQ(cv::norm(tile.pixels, reference, cv::NORM_INF), 0);
  EXPECT_EQ(tile.format, "jpeg");
  EXPECT_EQ(tile.source_width, 56);
  EXPECT_EQ(tile.source_height, 40);
  EXPECT_EQ(tile.source_channels, 3);
}

TEST(ImageDecode, PutsRedFirst) {
  satx::testing::TempDir dir;
  cv::Mat red(8, 8, CV_8UC3, cv::Scalar(0, 0, 255));  // BGR
  cv::imwrite((dir / "red.png").string(), red);
  cv::imwrite((dir / "red.bmp").string(), red);
  for (const char* name : {"red.png", "red.bmp"}) {
    cv::Vec3b pixel = decode_tile((dir / name).string()).pixels.at<cv::Vec3b>(3, 3);
    EXPECT_EQ(pixel, cv::Vec3b(255, 0, 0)) << name;
  }
}

TEST(ImageDecode, ReplicatesGrayToThreeChannelsOrKeepsOne) {
  satx::testing::TempDir dir;
  cv::Mat gray = random_image(16, 16, CV_8UC1, 0, 255, 2);
  cv::imwrite((dir / "g.png").string(), gray);
  cv::Mat rgb = decode_tile((dir / "g.png").string()).pixels;
  ASSERT_EQ(rgb.channels(), 3);
  std::vector<cv::Mat> planes;
  cv::split(rgb, planes);
  for (const cv::Mat& plane : planes) EXPECT_EQ(cv::norm(plane, gray, cv::NORM_INF), 0);
  cv::Mat one = decode_tile((dir / "g.png").string(), channels(1)).pixels;
  EXPECT_EQ(one.channels(), 1);
  EXPECT_EQ(cv::norm(one, gray, cv::NORM_INF), 0);
}

TEST(ImageDecode, DropsAlphaFromRgbaPngUnlessFourAreAsked) {
  satx::testing::TempDir dir;
  cv::Mat bgra(8, 8, CV_8UC4, cv::Scalar(10, 20, 30, 40));
  cv::imwrite((dir / "a.png").string(), bgra);
  cv::Mat rgb = decode_tile((dir / "a.png").string()).pixels;
  ASSERT_EQ(rgb.channels(), 3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(30, 20, 10));
  cv::Mat rgba = decode_tile((dir / "a.png").string(), channels(4)).pixels;
  ASSERT_EQ(rgba.channels(), 4);
  EXPECT_EQ(rgba.at<cv::Vec4b>(0, 0), cv::Vec4b(30, 20, 10, 40));
}

TEST(ImageDecode, ConvertsRgbToLuminanceForOneChannel) {
  satx::testing::TempDir dir;
  cv::Mat bgr = random_image(8, 8, CV_8UC3, 0, 255, 3);
  cv::imwrite((dir / "c.png").string(), bgr);
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::norm(decode_tile((dir / "c.png").string(), channels(1)).pixels, gray, cv::NORM_INF), 0);
}

TEST(ImageDecode, StretchesSixteenBitPngByThePercentileRule) {
  satx::testing::TempDir dir;
  // Sentinel-2-like reflectances: 16-bit values in 200..3000, which ">> 8" would turn nearly black.
  cv::Mat bgr = random_image(32, 32, CV_16UC3, 200, 3000, 4);
  cv::imwrite((dir / "s2.png").string(), bgr);
  satx::io::Tile tile = decode_tile((dir / "s2.png").string());
  EXPECT_EQ(tile.source_depth, 16);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  EXPECT_EQ(cv::norm(tile.pixels, expected_stretch(rgb), cv::NORM_INF), 0);
  EXPECT_GT(cv::mean(tile.pixels)[0], 100);
  double low, high;
  cv::minMaxLoc(tile.pixels.reshape(1), &low, &high);
  EXPECT_EQ(low, 0);
  EXPECT_EQ(high, 255);
}

TEST(ImageDecode, DoesNotAmplifyANearlyFlatSixteenBitTile) {
  satx::testing::TempDir dir;
  cv::Mat flat = random_image(16, 16, CV_16UC1, 1000, 1004, 5);
  cv::imwrite((dir / "flat.png").string(), flat);
  cv::Mat pixels = decode_tile((dir / "flat.png").string(), channels(1)).pixels;
  double low, high;
  cv::minMaxLoc(pixels, &low, &high);
  EXPECT_LE(high - low, 4);  // one output level per input unit at most
  EXPECT_EQ(cv::norm(pixels, expected_stretch(flat), cv::NORM_INF), 0);
}

TEST(ImageDecode, ReadsFourBandTiffs) {
  satx::testing::TempDir dir;
  cv::Mat bgra = random_image(12, 10, CV_16UC4, 0, 10000, 6);
  cv::imwrite((dir / "rgba.tif").string(), bgra);  // OpenCV writes RGB + alpha
  satx::io::Tile four = decode_tile((dir / "rgba.tif").string(), channels(4));
  EXPECT_EQ(four.pixels.channels(), 4);
  EXPECT_EQ(four.source_depth, 16);
  EXPECT_EQ(four.format, "tiff");
  EXPECT_EQ(decode_tile((dir / "rgba.tif").string()).pixels.channels(), 3);

  // Four plain bands (say B, G, R, NIR) are not RGB + alpha: asking for 3 is an error.
  cv::Mat bands = random_image(12, 10, CV_16UC4, 0, 10000, 7);
  satx::io::write_tiff((dir / "bgrn.tif").string(), bands);
  EXPECT_EQ(decode_tile((dir / "bgrn.tif").string(), channels(4)).pixels.channels(), 4);
  std::string message = bad_data_message(dir / "bgrn.tif");
  EXPECT_NE(message.find("4 channels but 3 were requested"), std::string::npos) << message;
}

TEST(ImageDecode, ReadsThirteenBandTiffsInBandOrder) {
  satx::testing::TempDir dir;
  cv::Mat bands = random_image(20, 24, CV_8UC(13), 0, 255, 8);
  satx::io::write_tiff((dir / "s2.tif").string(), bands);
  satx::io::Tile tile = decode_tile((dir / "s2.tif").string(), channels(13));
  ASSERT_EQ(tile.pixels.channels(), 13);
  EXPECT_EQ(cv::norm(tile.pixels, bands, cv::NORM_INF), 0);
  std::string message = bad_data_message(dir / "s2.tif");
  EXPECT_NE(message.find("13 channels but 3 were requested"), std::string::npos) << message;

  cv::Mat deep = random_image(20, 24, CV_16UC(13), 0, 10000, 9);
  satx::io::write_tiff((dir / "s2_16.tif").string(), deep);
  satx::io::Tile stretched = decode_tile((dir / "s2_16.tif").string(), channels(13));
  EXPECT_EQ(stretched.source_depth, 16);
  EXPECT_EQ(cv::norm(stretched.pixels, expected_stretch(deep), cv::NORM_INF), 0);
}

TEST(ImageDecode, ReadsPlanarSeparateTiffs) {
  satx::testing::TempDir dir;
  cv::Mat bands = random_image(6, 9, CV_8UC(5), 0, 255, 10);
  std::vector<uint8_t> bytes = planar_tiff(bands);
  satx::io::Tile tile = satx::io::decode_tile_bytes(bytes, "planar.tif", channels(5));
  EXPECT_EQ(cv::norm(tile.pixels, bands, cv::NORM_INF), 0);
}

TEST(ImageDecode, ReadsBmpAndWebp) {
  satx::testing::TempDir dir;
  cv::Mat bgr = random_image(16, 20, CV_8UC3, 0, 255, 11);
  cv::imwrite((dir / "a.bmp").string(), bgr);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  EXPECT_EQ(cv::norm(decode_tile((dir / "a.bmp").string()).pixels, rgb, cv::NORM_INF), 0);

  ASSERT_TRUE(cv::imwrite((dir / "a.webp").string(), bgr, {cv::IMWRITE_WEBP_QUALITY, 101}));  // lossless
  satx::io::Tile webp = decode_tile((dir / "a.webp").string());
  EXPECT_EQ(webp.format, "webp");
  EXPECT_EQ(cv::norm(webp.pixels, rgb, cv::NORM_INF), 0);
}

TEST(ImageDecode, TrustsContentOverTheFileName) {
  satx::testing::TempDir dir;
  cv::imwrite((dir / "real.png").string(), cv::Mat(4, 4, CV_8UC3, cv::Scalar(1, 2, 3)));
  fs::rename(dir / "real.png", dir / "named.jpg");
  EXPECT_EQ(decode_tile((dir / "named.jpg").string()).format, "png");
}

TEST(ImageDecode, RejectsBadFilesWithPathAndReason) {
  satx::testing::TempDir dir;
  cv::Mat bgr = random_image(64, 64, CV_8UC3, 0, 255, 12);
  cv::imwrite((dir / "good.jpg").string(), bgr);
  cv::imwrite((dir / "good.png").string(), bgr);
  cv::imwrite((dir / "good.tif").string(), bgr);
  cv::imwrite((dir / "good.bmp").string(), bgr);
  cv::imwrite((dir / "good.webp").string(), bgr);
  std::vector<uint8_t> jpeg = bytes_of(dir / "good.jpg");
  write_bytes(dir / "half.jpg", jpeg, jpeg.size() / 2);
  write_bytes(dir / "no_eoi.jpg", jpeg, jpeg.size() - 2);
  write_bytes(dir / "header_only.jpg", jpeg, 300);
  for (const char* format : {"png", "tif", "bmp", "webp"}) {
    std::vector<uint8_t> bytes = bytes_of(dir / (std::string("good.") + format));
    write_bytes(dir / (std::string("half.") + format), bytes, bytes.size() / 2);
  }
  satx::testing::write_text(dir / "empty.jpg", "");
  satx::testing::write_text(dir / "text.jpg", "hello, this is not a picture\n");

  testing::internal::CaptureStderr();
  EXPECT_NE(bad_data_message(dir / "half.jpg").find("truncated JPEG"), std::string::npos);
  EXPECT_NE(bad_data_message(dir / "no_eoi.jpg").find("truncated JPEG"), std::string::npos);
  EXPECT_NE(bad_data_message(dir / "header_only.jpg").find("JPEG"), std::string::npos);
  EXPECT_NE(bad_data_message(dir / "half.png").find("truncated PNG"), std::string::npos);
  EXPECT_NE(bad_data_message(dir / "half.tif").find("TIFF"), std::string::npos);
  EXPECT_NE(bad_data_message(dir / "half.bmp").find("truncated BMP"), std::string::npos);
  EXPECT_NE(bad_data_message(dir / "half.webp").find("truncated WebP"), std::string::npos);
  EXPECT_NE(bad_data_message(dir / "empty.jpg").find("empty file (0 bytes)"), std::string::npos);
  std::string text = bad_data_message(dir / "text.jpg");
  EXPECT_NE(text.find("not an image"), std::string::npos) << text;
  EXPECT_NE(text.find("hello"), std::string::npos) << text;
  EXPECT_NE(bad_data_message(dir / "missing.jpg").find("cannot open"), std::string::npos);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "") << "decoders must not print";
}

TEST(ImageDecode, RefusesHugeHeadersWithoutAllocating) {
  satx::testing::TempDir dir;
  // A PNG signature and an IHDR claiming 20000x20000 RGB, and nothing else.
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                              0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20, 8, 2, 0, 0, 0, 0, 0, 0, 0};
  write_bytes(dir / "huge.png", png, png.size());
  std::string message = bad_data_message(dir / "huge.png");
  EXPECT_NE(message.find("20000x20000 exceeds the 67 MP limit"), std::string::npos) << message;

  // BMP and WebP (VP8X) headers claiming the same.
  std::vector<uint8_t> bmp(54, 0);
  bmp[0] = 'B', bmp[1] = 'M', bmp[14] = 40;
  bmp[18] = 0x20, bmp[19] = 0x4e, bmp[22] = 0x20, bmp[23] = 0x4e, bmp[28] = 24;
  write_bytes(dir / "huge.bmp", bmp, bmp.size());
  EXPECT_NE(bad_data_message(dir / "huge.bmp").find("20000x20000 exceeds"), std::string::npos);
  std::vector<uint8_t> webp = {'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X',
                               10, 0, 0, 0, 0, 0, 0, 0, 0x1f, 0x4e, 0, 0x1f, 0x4e, 0};
  write_bytes(dir / "huge.webp", webp, webp.size());
  EXPECT_NE(bad_data_message(dir / "huge.webp").find("20000x20000 exceeds"), std::string::npos);

  // TIFF: a real but small file against a small limit.
  satx::io::write_tiff((dir / "big.tif").string(), cv::Mat(100, 500, CV_8UC1, cv::Scalar(1)).reshape(5));
  DecodeOptions small = channels(5);
  small.max_pixels = 5000;
  EXPECT_NE(bad_data_message(dir / "big.tif", small).find("100x100 exceeds"), std::string::npos);

  // The refusal is flagged as such (serve answers 413 to it, 422 to a broken file), the
  // sample allowance of a many-band TIFF included.
  for (const char* name : {"huge.png", "huge.bmp", "huge.webp"})
    EXPECT_TRUE(satx::io::try_decode_tile((dir / name).string()).too_large) << name;
  EXPECT_TRUE(satx::io::try_decode_tile((dir / "big.tif").string(), small).too_large);
  satx::io::write_tiff((dir / "bands.tif").string(), cv::Mat(30, 30 * 30, CV_8UC1, cv::Scalar(1)).reshape(30));
  const satx::io::DecodeResult bands = satx::io::try_decode_tile((dir / "bands.tif").string(), [&] {
    DecodeOptions o = channels(30);
    o.max_pixels = 5000;  // 900 pixels fit, 27,000 samples exceed the 20,000 allowed
    return o;
  }());
  EXPECT_TRUE(bands.too_large) << bands.error;
  EXPECT_NE(bands.error.find("sample limit"), std::string::npos) << bands.error;
  write_bytes(dir / "text.png", std::vector<uint8_t>{'h', 'i'}, 2);
  EXPECT_FALSE(satx::io::try_decode_tile((dir / "text.png").string()).too_large);
}

TEST(ImageDecode, ReducesLargeJpegsWhileDecoding) {
  satx::testing::TempDir dir;
  cv::imwrite((dir / "big.jpg").string(), random_image(512, 384, CV_8UC3, 0, 255, 13));
  DecodeOptions options;
  options.max_pixels = 300 * 300;
  satx::io::Tile tile = decode_tile((dir / "big.jpg").string(), options);
  EXPECT_EQ(tile.pixels.cols, 192);  // 1/2 scale: 192x256 = 49,152 pixels fit
  EXPECT_EQ(tile.pixels.rows, 256);
  EXPECT_EQ(tile.source_width, 384);
  EXPECT_EQ(tile.source_height, 512);
  options.max_pixels = 100;  // even 1/8 (48x64) is too many
  EXPECT_NE(bad_data_message(dir / "big.jpg", options).find("exceeds"), std::string::npos);
}

TEST(ImageDecode, ResizesToTheRequestedSquare) {
  satx::testing::TempDir dir;
  cv::imwrite((dir / "a.png").string(), random_image(64, 48, CV_8UC3, 0, 255, 14));
  DecodeOptions options;
  options.size = 32;
  EXPECT_EQ(decode_tile((dir / "a.png").string(), options).pixels.size(), cv::Size(32, 32));
  options.size = 100;
  EXPECT_EQ(decode_tile((dir / "a.png").string(), options).pixels.size(), cv::Size(100, 100));
  satx::io::write_tiff((dir / "b.tif").string(), random_image(64, 64, CV_8UC(13), 0, 255, 15));
  DecodeOptions bands = channels(13);
  bands.size = 24;
  cv::Mat small = decode_tile((dir / "b.tif").string(), bands).pixels;
  EXPECT_EQ(small.size(), cv::Size(24, 24));
  EXPECT_EQ(small.channels(), 13);
}

TEST(ImageExtensions, RecognisesImageNamesOnly) {
  EXPECT_TRUE(satx::io::has_image_extension("a/b/tile.JPG"));
  EXPECT_TRUE(satx::io::has_image_extension("tile.tiff"));
  EXPECT_TRUE(satx::io::has_image_extension("tile.webp"));
  EXPECT_FALSE(satx::io::has_image_extension("notes.txt"));
  EXPECT_FALSE(satx::io::has_image_extension("folder.jpg/readme"));
  EXPECT_FALSE(satx::io::has_image_extension("jpg"));
}
