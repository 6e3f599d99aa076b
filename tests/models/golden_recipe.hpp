#pragma once
/// The ../shared/golden recipe (deterministic weights and input from LibTorch's own generator)
/// and reader, header-only so any test binary (CPU or CUDA) can include "models/golden_recipe.hpp".

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace satx::testing {

/// One golden file: the reference's state-dict layout, parameter count, input and logits.
struct GoldenModel {
  std::vector<std::pair<std::string, std::vector<int64_t>>> state_dict;  ///< in reference order
  int64_t parameter_count = 0;
  int64_t input_size = 0;
  int64_t batch = 0;
  torch::Tensor logits;  ///< [batch, classes], float32, CPU
};

/// Reads ../shared/golden/<name>.json.
inline GoldenModel read_golden(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  auto json = nlohmann::json::parse(in);
  GoldenModel golden;
  for (const auto& entry : json.at("state_dict"))
    golden.state_dict.emplace_back(entry.at(0).get<std::string>(), entry.at(1).get<std::vector<int64_t>>());
  golden.parameter_count = json.at("parameter_count").get<int64_t>();
  golden.input_size = json.at("input_size").get<int64_t>();
  golden.batch = json.at("batch").get<int64_t>();
  std::vector<float> values;
  int64_t rows = 0;
  for (const auto& row : json.at("logits")) {
    for (const auto& value : row) values.push_back(value.get<float>());
    ++rows;
  }
  golden.logits = torch::tensor(values).reshape({rows, -1});
  return golden;
}

/// Fills every parameter and buffer of `module` as the golden recipe says: entries are visited
/// in state_dict order (each module's parameters, its buffers, then its children) and the k-th
/// is drawn after torch::manual_seed(1000 + k) on the CPU generator, then copied to wherever
/// the module lives (so a CUDA module gets the same numbers).
inline void fill_by_recipe(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  int64_t k = 0;
  auto fill = [&k](const std::string& name, torch::Tensor& target, bool batch_norm) {
    torch::manual_seed(static_cast<uint64_t>(1000 + k++));
    auto ends_with = [&name](const std::string& suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    auto shape = target.sizes();
    torch::Tensor value;
    if (ends_with("num_batches_tracked")) {
      target.zero_();
      return;
    } else if (ends_with("running_mean")) {
      value = 0.1 * torch::randn(shape);
    } else if (ends_with("running_var")) {
      value = 1 + 0.5 * torch::rand(shape);
    } else if (batch_norm && ends_with("weight")) {
      value = 1 + 0.1 * torch::randn(shape);
    } else if (batch_norm && ends_with("bias")) {
      value = 0.1 * torch::randn(shape);
    } else if (ends_with("bias")) {
      value = 0.01 * torch::randn(shape);
    } else {
      const double fan_in = static_cast<double>(target.numel()) / static_cast<double>(target.size(0));
      value = torch::randn(shape) * std::sqrt(1.0 / fan_in);
    }
    target.copy_(value);
  };
  // Recursion over named_children() gives state_dict order without needing a shared_ptr.
  std::function<void(torch::nn::Module&)> visit = [&](torch::nn::Module& current) {
    const bool batch_norm = current.as<torch::nn::BatchNorm2d>() != nullptr;
    for (auto& parameter : current.named_parameters(/*recurse=*/false))
      if (parameter.value().defined()) fill(parameter.key(), parameter.value(), batch_norm);
    for (auto& buffer : current.named_buffers(/*recurse=*/false))
      if (buffer.value().defined()) fill(buffer.key(), buffer.value(), batch_norm);
    for (auto& child : current.named_children()) visit(*child.value());
  };
  visit(module);
}

/// The recipe input: randn({batch, 3, size, size}) after torch::manual_seed(7), on the CPU.
inline torch::Tensor recipe_input(int64_t batch, int64_t size, int64_t channels = 3) {
  torch::manual_seed(7);
  return torch::randn({batch, channels, size, size});
}

/// ||out - ref|| / ||ref||, computed in double on the CPU.
inline double relative_error(const torch::Tensor& out, const torch::Tensor& ref) {
  auto a = out.detach().to(torch::kCPU, torch::kDouble);
  auto b = ref.detach().to(torch::kCPU, torch::kDouble);
  return (a - b).norm().item<double>() / b.norm().item<double>();
}

}  // namespace satx::testing
