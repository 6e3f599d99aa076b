// The recipe that holds beyond EuroSAT: the collapse guard, and rare-positive two-class data.
#include <cmath>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/models/model_file.hpp"
#include "satx/train/trainer.hpp"
#include "support/test_support.hpp"
#include "train/detail/collapse.hpp"
#include "train/train_fixture.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using satx::testing::read_metrics;
using satx::testing::read_tensors;
using satx::testing::test_context;
using satx::testing::TrainFixture;
using satx::train::detail::chance_level;
using satx::train::detail::collapse_reason;
using satx::train::detail::CollapseCheck;

namespace {

// The validation split of the task: 3% positives.
const std::vector<int64_t> kRareCounts = {3675, 114};

CollapseCheck check(const std::string& monitor, double value, double best, const std::vector<int64_t>& counts,
                    int64_t predicted = 2) {
  CollapseCheck c;
  c.monitor = monitor;
  c.maximize = monitor != "val_loss";
  c.value = value;
  c.best = best;
  c.chance = chance_level(monitor, counts);
  c.classes_predicted = predicted;
  c.best_classes_predicted = static_cast<int64_t>(counts.size());
  c.classes_in_validation = static_cast<int64_t>(counts.size());
  return c;
}

}  // namespace

TEST(CollapseGuard, ChanceLevelsAreWhatAConstantNetworkScores) {
  EXPECT_NEAR(chance_level("val_accuracy", kRareCounts), 3675.0 / 3789, 1e-12);
  // macro F1 when every tile is 'background': F1(background) = 2p/(1+p), F1(positive) = 0.
  const double p = 3675.0 / 3789;
  EXPECT_NEAR(chance_level("val_macro_f1", kRareCounts), p / (1 + p), 1e-12);
  EXPECT_NEAR(chance_level("val_auc", kRareCounts), 0.5, 1e-12);
  EXPECT_NEAR(chance_level("val_ap", kRareCounts), 114.0 / 3789, 1e-12);
  const double q = 114.0 / 3789;
  EXPECT_NEAR(chance_level("val_loss", kRareCounts), -(p * std::log(p) + q * std::log(q)), 1e-12);
}

TEST(CollapseGuard, FiresOnTheCollapsesReportedOnARarePositiveTask) {
  // Phase 1 macro F1 0.62, then 0.49 with every tile 'not-school'.
  EXPECT_NE(collapse_reason(check("val_macro_f1", 0.49, 0.62, kRareCounts, 1)), "");
  EXPECT_NE(collapse_reason(check("val_macro_f1", 0.49, 0.62, kRareCounts, 2)), "");
  // AUC 0.95 after phase 1, 0.59 after the first phase-2 epoch.
  EXPECT_NE(collapse_reason(check("val_auc", 0.59, 0.95, kRareCounts)), "");
  EXPECT_NE(collapse_reason(check("val_ap", 0.2, 0.85, kRareCounts)), "");
  EXPECT_NE(collapse_reason(check("val_loss", 0.13, 0.05, kRareCounts)), "");
  // Diverged weights.
  EXPECT_NE(collapse_reason(check("val_accuracy", std::nan(""), 0.9, kRareCounts)), "");
  const auto reason = collapse_reason(check("val_auc", 0.59, 0.95, kRareCounts));
  EXPECT_NE(reason.find("val_auc"), std::string::npos) << reason;
  EXPECT_NE(reason.find("0.5900"), std::string::npos) << reason;
}

TEST(CollapseGuard, StaysQuietOnHealthyDipsAndImprovements) {
  const std::vector<int64_t> eurosat = {450, 450, 450, 375, 375, 300, 375, 450, 375, 450};
  // EuroSAT's first phase-2 epoch a little below phase 1's best.
  EXPECT_EQ(collapse_reason(check("val_accuracy", 0.91, 0.93, eurosat)), "");
  EXPECT_EQ(collapse_reason(check("val_accuracy", 0.97, 0.93, eurosat)), "");
  // AUC 0.95 -> 0.81 is a dip, not a collapse (less than half of the margin over 0.5 lost).
  EXPECT_EQ(collapse_reason(check("val_auc", 0.81, 0.95, kRareCounts)), "");
  EXPECT_EQ(collapse_reason(check("val_ap", 0.7, 0.8, kRareCounts)), "");
  EXPECT_EQ(collapse_reason(check("val_loss", 0.07, 0.05, kRareCounts)), "");
  // One class predicted but the metric improved (AP ranks tiles; the argmax may lag).
  EXPECT_EQ(collapse_reason(check("val_ap", 0.9, 0.8, kRareCounts, 1)), "");
}

TEST(Trainer, CollapseGuardRollsBackToTheKeptWeightsAndLowersTheRate) {
  TrainFixture f;
  auto o = f.options("run");
  o.data.weights = satx::testing::write_weights(f.dir / "calibrated.safetensors", /*calibrated=*/true).string();
  o.phases.head_epochs = 4;
  o.phases.head_lr = 0.01;
  o.phases.lr = 10;  // the largest rate satx accepts wrecks the network in one epoch
  o.phases.epochs = 2;
  std::ostringstream log_text;
  auto context = test_context();
  context.log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));
  const auto result = satx::train::train(o, context);

  const auto lines = read_metrics(result.run_dir);
  ASSERT_EQ(lines.size(), 6u);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(lines[i].contains("collapse")) << lines[i].dump();
  EXPECT_GT(lines[3]["val_accuracy"].get<double>(), 0.75) << "phase 1 must learn for a collapse to show";
  ASSERT_TRUE(lines[4].contains("collapse")) << lines[4].dump();
  EXPECT_NEAR(lines[4]["next_lr"].get<double>(), 1.0, 1e-9);
  EXPECT_EQ(lines[4]["rolled_back_to"]["phase"], "head");
  ASSERT_TRUE(lines[5].contains("collapse")) << lines[5].dump();
  EXPECT_NEAR(lines[5]["next_lr"].get<double>(), 0.1, 1e-9);
  EXPECT_NE(log_text.str().find("collapsed"), std::string::npos) << log_text.str();
  EXPECT_NE(log_text.str().find("Rolled back"), std::string::npos) << log_text.str();
  EXPECT_EQ(lines[4]["rolled_back_to"]["epoch"], 4);
  EXPECT_EQ(result.best["phase"], "head");
  // The weights after the rollbacks are those phase 2 started from (phase 1's last), not the
  // wrecked ones: the same run with no phase 2 ends with exactly them.
  auto head_only = o;
  head_only.phases.epochs = 0;
  head_only.data.out = (f.dir / "head-only").string();
  const auto phase1 = read_tensors(satx::train::train(head_only, test_context()).last_model);
  const auto last = read_tensors(result.last_model);
  for (const auto& [name, tensor] : phase1) EXPECT_TRUE(torch::equal(tensor, last.at(name))) << name;

  // Without the guard the wrecked weights stay.
  o.checkpoints.collapse_guard = false;
  o.data.out = (f.dir / "unguarded").string();
  const auto unguarded = satx::train::train(o, test_context());
  for (const auto& line : read_metrics(unguarded.run_dir)) EXPECT_FALSE(line.contains("collapse")) << line.dump();
  const auto wrecked = read_tensors(unguarded.last_model);
  bool differs = false;
  for (const auto& [name, tensor] : read_tensors(unguarded.best_model))
    differs = differs || !torch::equal(tensor, wrecked.at(name));
  EXPECT_TRUE(differs);
}

TEST(Trainer, CollapseGuardStaysQuietOnAHealthyRun) {
  TrainFixture f;
  auto o = f.options("run");
  o.data.weights = satx::testing::write_weights(f.dir / "calibrated.safetensors", /*calibrated=*/true).string();
  o.phases.head_epochs = 4;
  o.phases.head_lr = 0.01;
  o.phases.epochs = 3;
  // This random "pretrained" network is far more fragile than ImageNet weights: at 1e-4 its
  // validation accuracy on 12 tiles dipped from 11 right to 8 for an epoch on one CPU (AMD EPYC)
  // and not on another, which is a real fall the guard should catch. At 1e-5 phase 2 still
  // lowers the validation loss (0.373 -> 0.329 here) without that dip.
  o.phases.lr = 1e-5;
  const auto result = satx::train::train(o, test_context());
  const auto lines = read_metrics(result.run_dir);
  for (const auto& line : lines) EXPECT_FALSE(line.contains("collapse")) << line.dump();
  EXPECT_GE(lines.back()["val_accuracy"].get<double>(), 0.7) << lines.back().dump();  // chance is 0.5
}

namespace {

// 44 training tiles, 2 of them 'tower' (4.5%); validation 20 + 4.
void make_rare_dataset(const fs::path& root) {
  satx::testing::make_tiny_dataset(root / "train", {"background", "tower"}, 42, 32, 1);
  satx::testing::make_tiny_dataset(root / "valid", {"background", "tower"}, 20, 32, 2);
  for (int i = 2; i < 42; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "tower_%04d.png", i);
    fs::remove(root / "train" / "tower" / name);
    if (i >= 4) fs::remove(root / "valid" / "tower" / name);
  }
}

}  // namespace

TEST(Trainer, RarePositiveDataGetsBalancedBatchesApAndAStoredThreshold) {
  TrainFixture f;
  make_rare_dataset(f.dir / "rare");
  auto o = f.options("run");
  o.data.train_dir = (f.dir / "rare" / "train").string();
  o.data.valid_dir = (f.dir / "rare" / "valid").string();
  std::ostringstream log_text;
  auto context = test_context();
  context.log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));
  const auto result = satx::train::train(o, context);

  const auto config = json::parse(satx::testing::read_text(result.run_dir / "config.json"));
  EXPECT_EQ(config["options"]["sampler"], "balanced");
  EXPECT_EQ(config["options"]["monitor"], "val_ap");
  EXPECT_EQ(config["options"]["choose_threshold"], "f1");
  EXPECT_EQ(config["options"]["loss"], "focal");
  EXPECT_DOUBLE_EQ(config["options"]["lr"].get<double>(), 5e-4);
  EXPECT_TRUE(config["resolved"]["rare_positive"].get<bool>());
  EXPECT_NE(log_text.str().find("class 'tower' is only 4.5%"), std::string::npos) << log_text.str();
  EXPECT_NE(log_text.str().find("rare-positive"), std::string::npos) << log_text.str();

  const auto lines = read_metrics(result.run_dir);
  for (const auto& line : lines)
    if (line["phase"] == "head" || line["phase"] == "full") EXPECT_TRUE(line.contains("val_ap")) << line.dump();
  const auto metadata = satx::models::read_model_metadata(result.best_model);
  ASSERT_TRUE(metadata.threshold.has_value());
  EXPECT_GT(*metadata.threshold, 0.0);
  EXPECT_LT(*metadata.threshold, 1.0);
  EXPECT_EQ(metadata.training["threshold"]["criterion"], "f1");
  ASSERT_TRUE(result.threshold.is_object());
  EXPECT_DOUBLE_EQ(result.threshold["threshold"].get<double>(), *metadata.threshold);
  EXPECT_EQ(lines.back()["phase"], "threshold");

  // Each part of the recipe can be set by hand.
  o.data.out = (f.dir / "by-hand").string();
  o.sampling.sampler = satx::data::Sampler::Shuffle;
  o.checkpoints.monitor = satx::train::Monitor::Accuracy;
  o.checkpoints.choose_threshold = "none";
  o.loss.kind = satx::train::LossKind::CrossEntropy;
  o.phases.lr = 2e-3;
  const auto by_hand = satx::train::train(o, test_context());
  const auto config2 = json::parse(satx::testing::read_text(by_hand.run_dir / "config.json"));
  EXPECT_EQ(config2["options"]["sampler"], "shuffle");
  EXPECT_EQ(config2["options"]["monitor"], "val_accuracy");
  EXPECT_EQ(config2["options"]["loss"], "ce");
  EXPECT_DOUBLE_EQ(config2["options"]["lr"].get<double>(), 2e-3);
  EXPECT_FALSE(satx::models::read_model_metadata(by_hand.best_model).threshold.has_value());
}

TEST(Trainer, BalancedDataKeepsTheUsualRecipe) {
  TrainFixture f;
  const auto result = satx::train::train(f.options("run"), test_context());
  const auto config = json::parse(satx::testing::read_text(result.run_dir / "config.json"));
  EXPECT_EQ(config["options"]["sampler"], "shuffle");
  EXPECT_EQ(config["options"]["monitor"], "val_accuracy");
  EXPECT_EQ(config["options"]["choose_threshold"], "none");
  EXPECT_DOUBLE_EQ(config["options"]["lr"].get<double>(), 1e-3);
  EXPECT_FALSE(satx::models::read_model_metadata(result.best_model).threshold.has_value());
}

TEST(Trainer, RareRecipeOptionsNeedTwoClasses) {
  TrainFixture f(12, {"a", "b", "c"});
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"monitor", "val_ap"}, {"choose_threshold", "f1"}}) {
    auto o = f.options("run-" + field);
    if (field == "monitor") o.checkpoints.monitor = satx::train::parse_monitor(value);
    else o.checkpoints.choose_threshold = value;
    try {
      satx::train::train(o, test_context());
      FAIL() << field << ": no error";
    } catch (const satx::Error& error) {
      EXPECT_EQ(error.code(), satx::ErrorCode::Usage);
      EXPECT_NE(std::string(error.what()).find("two classes"), std::string::npos) << error.what();
    }
  }
}
