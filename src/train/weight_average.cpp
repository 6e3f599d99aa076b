#include "satx/train/weight_average.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "satx/core/error.hpp"

namespace satx::train {

namespace {

// Parameters then buffers, paired by name; a network and its copy list them in the same order.
std::vector<std::pair<torch::Tensor, torch::Tensor>> paired_tensors(torch::nn::Module& to, torch::nn::Module& from) {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs;
  auto add = [&pairs](const torch::OrderedDict<std::string, torch::Tensor>& a,
                      const torch::OrderedDict<std::string, torch::Tensor>& b) {
    if (a.size() != b.size())
      throw_usage("weight average: the networks differ (" + std::to_string(a.size()) + " vs " +
                  std::to_string(b.size()) + " tensors)");
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].key() != b[i].key() || a[i].value().sizes() != b[i].value().sizes())
        throw_usage("weight average: the networks differ at '" + a[i].key() + "'");
      pairs.emplace_back(a[i].value(), b[i].value());
    }
  };
  add(to.named_parameters(true), from.named_parameters(true));
  add(to.named_buffers(true), from.named_buffers(true));
  return pairs;
}

}  // namespace

double average_decay(double decay, int64_t updates) {
  return std::min(decay, (1.0 + static_cast<double>(updates)) / (10.0 + static_cast<double>(updates)));
}

void update_average(torch::nn::Module& average, torch::nn::Module& model, double decay, int64_t updates) {
  const double d = average_decay(decay, updates);
  torch::NoGradGuard no_grad;
  // Only what the optimizer moves is averaged: frozen weights and BatchNorm statistics are
  // copied, so they stay bit-identical to the trained network's instead of drifting by rounding.
  for (auto& [avg, current] : paired_tensors(average, model)) {
    if (current.requires_grad() && avg.is_floating_point())
      avg.mul_(d).add_(current.detach(), 1.0 - d);
    else
      avg.copy_(current.detach());
  }
}

void copy_weights(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : paired_tensors(to, from)) target.copy_(source.detach());
}

}  // namespace satx::train
