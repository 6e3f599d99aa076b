#pragma once
// What the trainer tests share: a CPU context, a "pretrained" weights file and a tiny
// two-class dataset with the options that train on it in seconds.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "satx/core/context.hpp"
#include "satx/io/safetensors.hpp"
#include "satx/models/network.hpp"
#include "satx/train/options.hpp"
#include "support/test_support.hpp"

namespace satx::testing {

namespace fs = std::filesystem;

inline satx::Context test_context(uint64_t seed = 7) {
  satx::ContextOptions options;
  options.device = "cpu";
  options.seed = seed;
  options.threads = 2;
  return satx::make_context(options);
}

// A "pretrained" weights file: a random 3-class network whose BatchNorm statistics are not
// the defaults, so any update to them shows. `calibrated`: the statistics are measured on
// random tiles instead, so activations keep their scale through the blocks and a head on the
// frozen backbone can learn (random statistics shrink the features to nothing).
inline fs::path write_weights(const fs::path& path, bool calibrated = false) {
  torch::manual_seed(11);
  auto network = satx::models::create_network("mobilenetv2", {3, 3});
  satx::io::TensorList tensors;
  torch::NoGradGuard no_grad;
  if (calibrated) {
    network->train();
    for (const auto& module : network->modules())
      if (auto* norm = module->as<torch::nn::BatchNorm2d>()) norm->options.momentum(c10::nullopt);
    network->forward(torch::rand({64, 3, 32, 32}) * 4 - 2);
    network->eval();
  }
  for (auto& [name, tensor] : satx::models::state_entries(*network)) {
    if (!calibrated && name.find("running_mean") != std::string::npos) tensor.copy_(torch::randn_like(tensor) * 0.1);
    if (!calibrated && name.find("running_var") != std::string::npos) tensor.copy_(torch::rand_like(tensor) + 0.5);
    tensors.emplace_back(name, tensor.clone());
  }
  satx::io::write_safetensors(path, tensors);
  return path;
}

struct TrainFixture {
  TempDir dir;
  fs::path weights;
  explicit TrainFixture(int per_class = 12, std::vector<std::string> classes = {"cloud", "field"}) {
    make_tiny_dataset(dir / "train", classes, per_class, 32, 1);
    make_tiny_dataset(dir / "valid", classes, 6, 32, 2);
    weights = write_weights(dir / "weights.safetensors");
  }
  satx::train::TrainOptions options(const std::string& run) const {
    satx::train::TrainOptions o;
    o.data.model = "mobilenetv2";
    o.data.train_dir = (dir / "train").string();
    o.data.valid_dir = (dir / "valid").string();
    o.data.weights = weights.string();
    o.data.out = (dir / run).string();
    o.data.input_size = 32;
    o.sampling.batch = 8;
    o.phases.head_epochs = 1;
    o.phases.epochs = 1;
    o.schedule.warmup_epochs = 0;
    return o;
  }
};

inline std::map<std::string, torch::Tensor> read_tensors(const fs::path& path) {
  std::map<std::string, torch::Tensor> map;
  for (auto& [name, tensor] : satx::io::read_safetensors(path)) map[name] = tensor;
  return map;
}

}  // namespace satx::testing
