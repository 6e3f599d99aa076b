#include "satx/train/weight_average.hpp"

#include <algorithm>
#include <string>

#include <torch/torch.h>

#include "satx/core/error.hpp"

namespace satx::train {

namespace {

struct TensorPair {
  torch::Tensor to, from;
  bool parameter;
};

// Parameters then buffers, paired by name; a network and its copy list them in the same order.
std::vector<TensorPair> paired_tensors(torch::nn::Module& to, torch::nn::Module& from) {
  std::vector<TensorPair> pairs;
  auto add = [&pairs](const torch::OrderedDict<std::string, torch::Tensor>& a,
                      const torch::OrderedDict<std::string, torch::Tensor>& b, bool parameter) {
    if (a.size() != b.size())
      throw_usage("weight average: the networks differ (" + std::to_string(a.size()) + " vs " +
                  std::to_string(b.size()) + " tensors)");
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].key() != b[i].key() || a[i].value().sizes() != b[i].value().sizes())
        throw_usage("weight average: the networks differ at '" + a[i].key() + "'");
      pairs.push_back({a[i].value(), b[i].value(), parameter});
    }
  };
  add(to.named_parameters(true), from.named_parameters(true), true);
  add(to.named_buffers(true), from.named_buffers(true), false);
  return pairs;
}

}  // namespace

double average_decay(double decay, int64_t updates) {
  return std::min(decay, (1.0 + static_cast<double>(updates)) / (10.0 + static_cast<double>(updates)));
}

void copy_weights(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  for (auto& pair : paired_tensors(to, from)) pair.to.copy_(pair.from.detach());
}

WeightAverage::WeightAverage(torch::nn::Module& model, torch::nn::Module& average, double decay) : decay_(decay) {
  torch::NoGradGuard no_grad;
  for (auto& pair : paired_tensors(average, model)) {
    pair.to.copy_(pair.from.detach());
    const bool trained = pair.parameter && pair.from.requires_grad() && pair.to.is_floating_point();
    (trained ? averaged_ : copies_).push_back(pair.to);
    (trained ? trained_ : sources_).push_back(pair.from.detach());
  }
}

void WeightAverage::update(int64_t updates) {
  if (averaged_.empty()) return;
  const double d = average_decay(decay_, updates);
  torch::NoGradGuard no_grad;
  // One fused kernel per op over all tensors, instead of two per tensor on every step.
  at::_foreach_mul_(averaged_, d);
  at::_foreach_add_(averaged_, trained_, 1.0 - d);
}

void WeightAverage::copy_untrained() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < copies_.size(); ++i) copies_[i].copy_(sources_[i]);
}

}  // namespace satx::train
