#include "satx/train/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <torch/torch.h>

#include "satx/core/error.hpp"

namespace satx::train {

std::vector<ParameterGroup> group_parameters(models::Network& network, const GroupingOptions& options) {
  const auto& manifest = network.manifest();
  const int stages = static_cast<int>(manifest.stages.size());
  if (options.lr_decay_per_stage <= 0 || options.lr_decay_per_stage > 1)
    throw_option("lr_decay_per_stage", "must be in (0, 1], got " + std::to_string(options.lr_decay_per_stage));

  std::vector<ParameterGroup> groups;
  auto add = [&groups](const std::string& name, const torch::Tensor& parameter, double scale, bool decay) {
    const std::string key = name + (decay ? "/decay" : "/no-decay");
    auto it = std::find_if(groups.begin(), groups.end(), [&](const ParameterGroup& g) { return g.name == key; });
    if (it == groups.end()) {
      groups.push_back({key, {}, scale, decay});
      it = groups.end() - 1;
    }
    it->parameters.push_back(parameter);
  };

  if (options.head_only) {
    for (const auto& parameter : network.head_parameters()) add("head", parameter, 1.0, parameter.dim() > 1);
    return groups;
  }
  for (const auto& item : network.named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    int stage = models::stage_of(manifest, item.key());
    if (stage < 0) stage = std::max(stages - 1, 0);
    if (stage < options.freeze_stages) continue;
    const double scale = std::pow(options.lr_decay_per_stage, std::max(stages - 1 - stage, 0));
    const std::string stage_name = stage < stages ? manifest.stages[stage] : "other";
    // One group per stage only when rates differ; otherwise two groups (decay / no decay) suffice.
    add(options.lr_decay_per_stage < 1.0 ? stage_name : "all", item.value(), scale, item.value().dim() > 1);
  }
  return groups;
}

OptimizerKind parse_optimizer_kind(const std::string& text, const std::string& flag) {
  if (text == "sgd") return OptimizerKind::Sgd;
  if (text == "adam") return OptimizerKind::Adam;
  if (text == "adamw") return OptimizerKind::AdamW;
  throw_usage(unknown_value_message(flag, text, {"sgd", "adam", "adamw"}));
}

const char* optimizer_kind_name(OptimizerKind kind) {
  return kind == OptimizerKind::Sgd ? "sgd" : kind == OptimizerKind::Adam ? "adam" : "adamw";
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<ParameterGroup>& groups,
                                                        const OptimizerOptions& options, double peak_lr) {
  if (!(peak_lr > 0) || !std::isfinite(peak_lr)) throw_option("lr", "must be a finite rate > 0, got " + std::to_string(peak_lr));
  if (!(options.weight_decay >= 0)) throw_option("weight_decay", "must be >= 0, got " + std::to_string(options.weight_decay));
  if (!(options.momentum >= 0 && options.momentum < 1))
    throw_option("momentum", "must be in [0, 1), got " + std::to_string(options.momentum));
  if (groups.empty()) throw_runtime("no trainable parameters (is every stage frozen?)");

  using namespace torch::optim;
  std::vector<OptimizerParamGroup> param_groups;
  for (const auto& group : groups) {
    const double lr = peak_lr * group.lr_scale;
    const double decay = group.decay ? options.weight_decay : 0.0;
    std::unique_ptr<torch::optim::OptimizerOptions> group_options;
    if (options.kind == OptimizerKind::Sgd) {
      group_options = std::make_unique<SGDOptions>(
          SGDOptions(lr).momentum(options.momentum).nesterov(options.nesterov && options.momentum > 0).weight_decay(decay));
    } else if (options.kind == OptimizerKind::Adam) {
      group_options = std::make_unique<AdamOptions>(AdamOptions(lr).weight_decay(decay));
    } else {
      group_options = std::make_unique<AdamWOptions>(AdamWOptions(lr).weight_decay(decay));
    }
    param_groups.emplace_back(group.parameters, std::move(group_options));
  }
  // The constructors want defaults for groups without options; every group has its own here.
  if (options.kind == OptimizerKind::Sgd) return std::make_unique<SGD>(std::move(param_groups), SGDOptions(peak_lr));
  if (options.kind == OptimizerKind::Adam) return std::make_unique<Adam>(std::move(param_groups), AdamOptions(peak_lr));
  return std::make_unique<AdamW>(std::move(param_groups), AdamWOptions(peak_lr));
}

void set_learning_rates(torch::optim::Optimizer& optimizer, const std::vector<ParameterGroup>& groups, double peak_lr,
                        double factor) {
  auto& param_groups = optimizer.param_groups();
  for (size_t i = 0; i < param_groups.size() && i < groups.size(); ++i)
    param_groups[i].options().set_lr(peak_lr * groups[i].lr_scale * factor);
}

}  // namespace satx::train
