// `satx train -test=T` scores the test split exactly as `satx eval -data=T` scores the saved
// best model: the same accuracy and the same probabilities, tile for tile.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

using namespace satx::testing;
using json = nlohmann::json;
namespace fs = std::filesystem;

TEST(TrainCli, TestFiguresEqualEvalOnTheSavedModelTileForTile) {
  TempDir dir;
  const std::vector<std::string> classes = {"cloud", "field", "water"};
  make_tiny_dataset(dir / "train", classes, 10, 32, 1);
  make_tiny_dataset(dir / "valid", classes, 4, 32, 2);
  make_tiny_dataset(dir / "test", classes, 6, 32, 3);
  const fs::path run = dir / "run";
  const auto trained = run_satx("train -weights=none -train='" + (dir / "train").string() + "' -valid='" +
                                (dir / "valid").string() + "' -test='" + (dir / "test").string() + "' -out='" + run.string() +
                                "' -input-size=32 -epochs=2 -batch=8 -threads=2 -q");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  ASSERT_TRUE(fs::exists(run / "test-metrics.json"));
  ASSERT_TRUE(fs::exists(run / "test-predictions.csv"));

  const auto evaluated = run_satx("eval -model='" + (run / "best.safetensors").string() + "' -data='" +
                                  (dir / "test").string() + "' -json='" + (dir / "eval.json").string() + "' -predictions='" +
                                  (dir / "eval.csv").string() + "' -threads=2 -q");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;

  // Tile for tile: the same rows, the probabilities written with 9 significant digits.
  const std::string from_train = read_text(run / "test-predictions.csv");
  EXPECT_EQ(from_train, read_text(dir / "eval.csv"));
  EXPECT_EQ(std::count(from_train.begin(), from_train.end(), '\n'), 1 + 3 * 6);

  const auto train_json = json::parse(read_text(run / "test-metrics.json"));
  const auto eval_json = json::parse(read_text(dir / "eval.json"));
  for (const char* key : {"accuracy", "log_loss", "confusion", "per_class", "macro", "samples"})
    EXPECT_EQ(train_json.at(key), eval_json.at(key)) << key;
  // The figures train prints and stores come from that same evaluation.
  const auto metrics = read_metrics(run);
  EXPECT_EQ(metrics.back().at("phase"), "test");
  EXPECT_DOUBLE_EQ(metrics.back().at("test_accuracy").get<double>(), eval_json.at("accuracy").get<double>());
  EXPECT_NE(trained.out.find("test: accuracy"), std::string::npos) << trained.out;
}
