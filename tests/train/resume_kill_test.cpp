// The scripted crash test: SIGKILL a real `satx train` process during phase 2, rerun it with
// -resume, and compare with an uninterrupted run under -deterministic.
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "satx/io/safetensors.hpp"
#include "satx/models/network.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using satx::testing::read_metrics;

TEST(TrainResume, KilledRunResumesToTheSameMetricsAsAnUninterruptedOne) {
  satx::testing::TempDir dir;
  satx::testing::make_tiny_dataset(dir / "train", {"cloud", "field", "water"}, 12, 32, 1);
  satx::testing::make_tiny_dataset(dir / "valid", {"cloud", "field", "water"}, 4, 32, 2);
  {
    torch::manual_seed(3);
    auto network = satx::models::create_network("mobilenetv2", {1000, 3});
    satx::io::TensorList tensors;
    for (auto& [name, tensor] : satx::models::state_entries(*network)) tensors.emplace_back(name, tensor);
    satx::io::write_safetensors(dir / "weights.safetensors", tensors);
  }
  const std::string common = std::string(SATX_BINARY) + " train -model=mobilenetv2 -weights=" +
                             (dir / "weights.safetensors").string() + " -train=" + (dir / "train").string() +
                             " -valid=" + (dir / "valid").string() +
                             " -input-size=32 -batch=4 -head-epochs=1 -epochs=6 -deterministic -seed=5 -threads=2 -q";

  const auto straight = satx::testing::run_shell(common + " -out=" + (dir / "straight").string());
  ASSERT_EQ(straight.exit_code, 0) << straight.err;

  const fs::path killed = dir / "killed";
  const std::string script = common + " -out=" + killed.string() + " & pid=$!\n" +
                             "for i in $(seq 1 2400); do grep -q '\"phase\":\"full\"' " + (killed / "metrics.jsonl").string() +
                             " 2>/dev/null && break; sleep 0.025; done\n"
                             "kill -9 $pid; wait $pid; echo exit=$?";
  const auto kill = satx::testing::run_shell(script);
  ASSERT_NE(kill.out.find("exit=137"), std::string::npos) << kill.out << kill.err;
  const size_t logged = read_metrics(killed).size();
  ASSERT_GE(logged, 2u);
  ASSERT_LT(logged, 7u) << "the run finished before it was killed";

  const auto resumed = satx::testing::run_shell(common + " -resume -out=" + killed.string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("(resumed)"), std::string::npos) << resumed.out;
  // The same command again: no warning about options "ignored" that were only left on auto.
  EXPECT_EQ(resumed.err.find("differences"), std::string::npos) << resumed.err;

  const auto a = read_metrics(dir / "straight"), b = read_metrics(killed);
  ASSERT_EQ(a.size(), 7u);
  ASSERT_EQ(b.size(), 7u);
  for (size_t i = 0; i < a.size(); ++i)
    for (const char* key : {"train_loss", "val_loss", "val_accuracy", "val_macro_f1"})
      EXPECT_EQ(a[i][key].get<double>(), b[i][key].get<double>()) << "epoch line " << i << " " << key;
}
