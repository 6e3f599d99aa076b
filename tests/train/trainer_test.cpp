// End-to-end behaviour of the trainer on tiny generated datasets (32 px, a few dozen tiles).
#include <cmath>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/models/model_file.hpp"
#include "satx/io/safetensors.hpp"
#include "satx/models/network.hpp"
#include "satx/train/checkpoint.hpp"
#include "satx/train/tensorboard.hpp"
#include "satx/train/trainer.hpp"
#include "support/test_support.hpp"
#include "train/train_fixture.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using satx::testing::TempDir;
using satx::testing::read_metrics;
using namespace satx::train;

namespace {

using Fixture = satx::testing::TrainFixture;
using satx::testing::read_tensors;
using satx::testing::test_context;
using satx::testing::write_weights;

bool is_head(const std::string& name) { return name.rfind("classifier.", 0) == 0; }
bool is_bn_statistic(const std::string& name) {
  return name.find("running_") != std::string::npos || name.find("num_batches_tracked") != std::string::npos;
}

}  // namespace

TEST(Trainer, HeadPhaseLeavesTheBackboneBitIdentical) {
  Fixture f;
  const auto initial = read_tensors(f.weights);
  for (bool cached : {true, false}) {
    auto o = f.options(cached ? "cached" : "uncached");
    o.phases.head_epochs = 2;
    o.phases.epochs = 0;
    o.phases.head_cache = cached;
    const auto result = train(o, test_context());
    const auto trained = read_tensors(result.last_model);
    int compared = 0;
    for (const auto& [name, tensor] : initial) {
      if (is_head(name)) continue;
      ASSERT_TRUE(trained.count(name)) << name;
      EXPECT_TRUE(torch::equal(trained.at(name), tensor)) << name << (cached ? " (cached)" : " (uncached)");
      ++compared;
    }
    EXPECT_GT(compared, 100);
    EXPECT_EQ(trained.at("classifier.1.weight").size(0), 2);
  }
}

TEST(Trainer, FullPhaseKeepsBatchNormStatisticsUnlessAskedToTrainThem) {
  Fixture f;
  const auto initial = read_tensors(f.weights);
  for (bool train_bn : {false, true}) {
    auto o = f.options(train_bn ? "bn" : "frozen-bn");
    o.phases.head_epochs = 0;
    o.phases.train_bn = train_bn;
    const auto trained = read_tensors(train(o, test_context()).last_model);
    bool statistics_changed = false, weights_changed = false;
    for (const auto& [name, tensor] : initial) {
      if (is_head(name) || name.find("num_batches_tracked") != std::string::npos) continue;
      const bool same = torch::equal(trained.at(name), tensor);
      if (is_bn_statistic(name)) statistics_changed |= !same;
      else weights_changed |= !same;
    }
    EXPECT_TRUE(weights_changed);
    EXPECT_EQ(statistics_changed, train_bn);
  }
}

TEST(Trainer, WritesTheRunDirectoryAndConsistentLogs) {
  Fixture f;
  auto o = f.options("run");
  o.phases.epochs = 2;
  o.data.test_dir = (f.dir / "valid").string();
  const auto result = train(o, test_context());
  const fs::path run = result.run_dir;
  for (const char* name : {"best.safetensors", "last.safetensors", "state.pt", "config.json", "metrics.jsonl", "classes.txt"})
    EXPECT_TRUE(fs::exists(run / name)) << name;
  EXPECT_EQ(satx::testing::read_text(run / "classes.txt"), "cloud\nfield\n");
  const auto config = json::parse(satx::testing::read_text(run / "config.json"));
  EXPECT_EQ(config["options"]["epochs"], 2);
  EXPECT_EQ(config["resolved"]["input_size"], 32);
  EXPECT_EQ(config["resolved"]["seed"], 7);

  const auto lines = read_metrics(run);
  ASSERT_EQ(lines.size(), 4u);  // head 1, full 2, test
  EXPECT_EQ(lines[0]["phase"], "head");
  EXPECT_EQ(lines[2]["phase"], "full");
  EXPECT_EQ(lines[3]["phase"], "test");
  EXPECT_TRUE(lines[1].contains("val_auc"));  // two classes
  EXPECT_TRUE(result.test.contains("test_accuracy"));

  // TensorBoard holds the same numbers as metrics.jsonl.
  const auto files = list_event_files(run);
  ASSERT_EQ(files.size(), 1u);
  const auto events = read_scalar_events(files[0]);
  for (size_t i = 0; i < 3; ++i) {
    const std::string tag = lines[i]["phase"].get<std::string>() + "/val_accuracy";
    bool found = false;
    for (const auto& e : events)
      if (e.tag == tag && e.step == lines[i]["global_epoch"].get<int64_t>()) {
        EXPECT_FLOAT_EQ(e.value, lines[i]["val_accuracy"].get<float>());
        found = true;
      }
    EXPECT_TRUE(found) << tag;
  }
  const TrainState state = read_train_state(run / "state.pt");
  EXPECT_TRUE(state.finished);
  // A finished run is not silently retrained.
  try {
    train(o, test_context());
    FAIL() << "no error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
  }
}

TEST(Trainer, EarlyStoppingEndsThePhase) {
  Fixture f;
  auto o = f.options("early");
  o.phases.epochs = 5;
  o.checkpoints.patience = 1;
  o.checkpoints.min_delta = 10;  // nothing after the first epoch can count as an improvement
  const auto result = train(o, test_context());
  EXPECT_TRUE(result.stopped_early);
  const auto lines = read_metrics(result.run_dir);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["phase"], "full");
  EXPECT_TRUE(lines[0]["improved"].get<bool>());
  EXPECT_FALSE(lines[1]["improved"].get<bool>());
}

TEST(Trainer, AutoClassWeightsBalanceTheTrainingCounts) {
  TempDir dir;
  satx::testing::make_tiny_dataset(dir / "train" , {"a"}, 6, 32, 1);
  satx::testing::make_tiny_dataset(dir / "train", {"b"}, 12, 32, 2);
  satx::testing::make_tiny_dataset(dir / "valid", {"a", "b"}, 3, 32, 3);
  TrainOptions o;
  o.data.train_dir = (dir / "train").string();
  o.data.valid_dir = (dir / "valid").string();
  o.data.weights = "none";
  o.data.out = (dir / "run").string();
  o.data.input_size = 32;
  o.sampling.batch = 8;
  o.phases.head_epochs = 0;  // random initialization: phase 2 only
  o.phases.epochs = 1;
  o.loss.class_weights = "auto";
  train(o, test_context());
  const auto config = json::parse(satx::testing::read_text(dir / "run" / "config.json"));
  const auto weights = config["resolved"]["class_weights"].get<std::vector<double>>();
  ASSERT_EQ(weights.size(), 2u);
  EXPECT_NEAR(weights[0], 18.0 / (2 * 6), 1e-6);
  EXPECT_NEAR(weights[1], 18.0 / (2 * 12), 1e-6);

  o.loss.class_weights = "1,2,3";
  o.data.out = (dir / "run2").string();
  try {
    train(o, test_context());
    FAIL() << "no error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
    EXPECT_NE(std::string(e.what()).find("2 classes"), std::string::npos) << e.what();
  }
}

namespace {

// Trains `o` straight and again with a crash in the middle of phase 2's second epoch followed
// by a resume; both must end with the same metrics and weights.
void expect_resume_matches_straight_run(const Fixture& f, TrainOptions o, const std::string& name) {
  o.data.out = (f.dir / (name + "-straight")).string();
  const auto straight = train(o, test_context());

  auto crashing = o;
  crashing.data.out = (f.dir / (name + "-crashed")).string();
  crashing.on_progress = [](const ProgressEvent& event) {
    if (event.kind == ProgressEvent::Kind::Step && event.phase == "full" && event.epoch == 2 && event.step == 1)
      throw std::runtime_error("simulated crash");
  };
  EXPECT_THROW(train(crashing, test_context()), std::runtime_error);
  EXPECT_EQ(read_metrics(crashing.data.out).size(), 2u);

  auto again = o;
  again.data.out = crashing.data.out;
  again.checkpoints.resume = true;
  const auto resumed = train(again, test_context());
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.epochs_run, 2);
  const auto a = read_metrics(straight.run_dir), b = read_metrics(resumed.run_dir);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (const char* key : {"train_loss", "val_loss", "val_accuracy"})
      EXPECT_EQ(a[i][key].get<double>(), b[i][key].get<double>()) << name << " line " << i << " " << key;
  const auto final_a = read_tensors(straight.last_model), final_b = read_tensors(resumed.last_model);
  for (const auto& [tensor_name, tensor] : final_a)
    EXPECT_TRUE(torch::equal(tensor, final_b.at(tensor_name))) << name << " " << tensor_name;
}

}  // namespace

TEST(Trainer, ResumeAfterACrashEndsWithTheSameMetrics) {
  Fixture f;
  auto o = f.options("run");
  o.phases.epochs = 3;
  o.checkpoints.deterministic = true;
  o.augment.crop_scale = 0.7;
  o.augment.jitter = 0.2;
  expect_resume_matches_straight_run(f, o, "plain");
  // The weight average is part of the resume state: without it the resumed average would restart.
  o.phases.ema = 0.9;
  expect_resume_matches_straight_run(f, o, "ema");
  // -train-bn calibrates BatchNorm when phase 2 starts, not again on a mid-phase resume.
  o.phases.ema = 0;
  o.phases.train_bn = true;
  expect_resume_matches_straight_run(f, o, "train-bn");
}

TEST(Trainer, EmaValidatesAndSavesTheAveragedWeights) {
  Fixture f;
  auto o = f.options("ema");
  o.phases.head_epochs = 0;
  o.phases.epochs = 2;
  o.phases.ema = 0.9;
  const auto result = train(o, test_context());
  const auto saved = read_tensors(result.last_model);
  // state.pt holds the trained network itself at the end of the phase.
  auto network = satx::models::create_network("mobilenetv2", {2, 3});
  restore_train_state(result.run_dir / "state.pt", *network, nullptr);
  const auto& frozen = network->manifest().frozen_stages;
  int averaged = 0, copied = 0;
  for (const auto& [name, tensor] : satx::models::state_entries(*network)) {
    const int stage = satx::models::stage_of(network->manifest(), name);
    const bool trained = !is_bn_statistic(name) && (stage < 0 || stage >= frozen);
    if (trained) {
      averaged += !torch::equal(saved.at(name), tensor);
    } else {
      EXPECT_TRUE(torch::equal(saved.at(name), tensor)) << name << " is not trained and must be copied";
      ++copied;
    }
  }
  EXPECT_GT(averaged, 50);
  EXPECT_GT(copied, 50);
  const auto metadata = satx::models::read_model_metadata(result.last_model);
  EXPECT_DOUBLE_EQ(metadata.training.at("ema").get<double>(), 0.9);
}

TEST(Trainer, AddTrainMergesMoreFoldersIntoTheTrainingSet) {
  Fixture f;
  satx::testing::make_tiny_dataset(f.dir / "negatives", {"field"}, 5, 32, 9);
  auto o = f.options("added");
  o.phases.epochs = 0;
  o.data.add_train = {(f.dir / "negatives").string()};
  const auto result = train(o, test_context());
  std::ifstream in(result.run_dir / "config.json");
  const auto config = json::parse(in);
  EXPECT_EQ(config.at("resolved").at("train_tiles").get<int>(), 2 * 12 + 5);
  EXPECT_EQ(config.at("options").at("add_train"), json::array({o.data.add_train.front()}));
  const auto metadata = satx::models::read_model_metadata(result.last_model);
  EXPECT_EQ(metadata.training.at("add_train"), json::array({o.data.add_train.front()}));
}

TEST(Trainer, ResumeWithoutStateIsAUsageError) {
  Fixture f;
  auto o = f.options("nothing");
  o.checkpoints.resume = true;
  try {
    train(o, test_context());
    FAIL() << "no error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
  }
}

TEST(Trainer, RandomInitializationSkipsPhaseOneAndTrainsBatchNorm) {
  Fixture f;
  auto o = f.options("random");
  o.data.weights = "none";
  o.phases.head_epochs = 2;
  o.phases.epochs = 1;
  std::ostringstream log_text;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text);
  auto context = test_context();
  context.log = std::make_shared<spdlog::logger>("test", sink);
  const auto result = train(o, context);
  EXPECT_NE(log_text.str().find("random initialization"), std::string::npos) << log_text.str();
  EXPECT_NE(log_text.str().find("phase 1 (frozen backbone) skipped"), std::string::npos) << log_text.str();
  EXPECT_EQ(result.epochs_run, 1);
  EXPECT_EQ(result.last.at("phase"), "full");
  // The resolved options, which a resume reads back, say what ran.
  std::ifstream config_file(result.run_dir / "config.json");
  const json config = json::parse(config_file);
  EXPECT_EQ(config.at("options").at("head_epochs"), 0);
  EXPECT_EQ(config.at("options").at("train_bn"), true);
  // BatchNorm statistics moved away from their initial (0, 1).
  bool moved = false;
  for (const auto& [name, tensor] : satx::io::read_safetensors(result.last_model))
    if (name.find("running_var") != std::string::npos && !torch::allclose(tensor, torch::ones_like(tensor))) moved = true;
  EXPECT_TRUE(moved);

  o.data.out = (f.dir / "random-nothing").string();
  o.phases.epochs = 0;
  try {
    train(o, test_context());
    FAIL() << "no error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
    EXPECT_EQ(e.field(), "epochs") << e.what();
  }
}

TEST(Trainer, FinetuneKeepsTheClassesOrNeedsNewHead) {
  Fixture f;
  auto o = f.options("base");
  o.phases.epochs = 0;
  const auto base = train(o, test_context());

  TrainOptions ft = f.options("ft");
  ft.data.from = base.best_model.string();
  ft.phases.head_epochs = 0;
  ft.phases.epochs = 1;
  ft.phases.lr = 1e-4;
  const auto tuned = train(ft, test_context());
  EXPECT_TRUE(fs::exists(tuned.best_model));

  satx::testing::make_tiny_dataset(f.dir / "train3", {"cloud", "field", "water"}, 8, 32, 4);
  satx::testing::make_tiny_dataset(f.dir / "valid3", {"cloud", "field", "water"}, 3, 32, 5);
  ft.data.train_dir = (f.dir / "train3").string();
  ft.data.valid_dir = (f.dir / "valid3").string();
  ft.data.out = (f.dir / "ft3").string();
  try {
    train(ft, test_context());
    FAIL() << "no error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
    EXPECT_NE(std::string(e.what()).find("water"), std::string::npos) << e.what();
    EXPECT_EQ(e.field(), "new_head") << e.what();
    EXPECT_NE(std::string(e.what()).find("-new-head"), std::string::npos) << e.what();
  }
  ft.data.new_head = true;
  ft.phases.head_epochs = 1;
  const auto widened = train(ft, test_context());
  EXPECT_EQ(read_tensors(widened.best_model).at("classifier.1.weight").size(0), 3);
}
