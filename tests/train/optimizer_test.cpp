#include <limits>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/models/network.hpp"
#include "satx/train/optimizer.hpp"

using namespace satx::train;

TEST(Optimizer, HeadOnlyGroupsHoldJustTheHeadWithoutDecayOnTheBias) {
  auto network = satx::models::create_network("mobilenetv2", {4, 3});
  GroupingOptions options;
  options.head_only = true;
  const auto groups = group_parameters(*network, options);
  int64_t count = 0;
  for (const auto& group : groups) {
    for (const auto& p : group.parameters) {
      EXPECT_EQ(group.decay, p.dim() > 1);
      count += p.numel();
    }
  }
  EXPECT_EQ(count, 1280 * 4 + 4);
}

TEST(Optimizer, DiscriminativeRatesShrinkTowardTheInput) {
  auto network = satx::models::create_network("mobilenetv2", {2, 3});
  GroupingOptions options;
  options.lr_decay_per_stage = 0.5;
  const auto groups = group_parameters(*network, options);
  const auto& stages = network->manifest().stages;
  double first = 0, last = 0;
  for (const auto& group : groups) {
    if (group.name.rfind(stages.front() + "/", 0) == 0) first = group.lr_scale;
    if (group.name.rfind(stages.back() + "/", 0) == 0) last = group.lr_scale;
  }
  EXPECT_DOUBLE_EQ(last, 1.0);
  EXPECT_DOUBLE_EQ(first, std::pow(0.5, static_cast<double>(stages.size() - 1)));
}

TEST(Optimizer, FrozenStagesAreLeftOut) {
  auto network = satx::models::create_network("mobilenetv2", {2, 3});
  GroupingOptions all, frozen;
  frozen.freeze_stages = 5;
  auto count = [](const std::vector<ParameterGroup>& groups) {
    int64_t n = 0;
    for (const auto& g : groups)
      for (const auto& p : g.parameters) n += p.numel();
    return n;
  };
  EXPECT_LT(count(group_parameters(*network, frozen)), count(group_parameters(*network, all)));
}

TEST(Optimizer, SetsEachGroupsRateFromThePeakAndScale) {
  auto network = satx::models::create_network("mobilenetv2", {2, 3});
  GroupingOptions grouping;
  grouping.lr_decay_per_stage = 0.8;
  const auto groups = group_parameters(*network, grouping);
  for (const std::string kind : {"sgd", "adam", "adamw"}) {
    OptimizerOptions options;
    options.kind = satx::train::parse_optimizer_kind(kind);
    auto optimizer = make_optimizer(groups, options, 1e-3);
    set_learning_rates(*optimizer, groups, 0.1, 0.5);
    ASSERT_EQ(optimizer->param_groups().size(), groups.size());
    for (size_t i = 0; i < groups.size(); ++i)
      EXPECT_DOUBLE_EQ(optimizer->param_groups()[i].options().get_lr(), 0.05 * groups[i].lr_scale) << kind;
  }
}

TEST(Optimizer, RejectsAnUnknownKindAndBadValuesNamingTheField) {
  EXPECT_THROW(satx::train::parse_optimizer_kind("adamm"), satx::Error);
  auto network = satx::models::create_network("mobilenetv2", {2, 3});
  OptimizerOptions options;
  options.weight_decay = -1;
  try {
    make_optimizer(group_parameters(*network, {}), options, 1e-3);
    FAIL() << "no error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.field(), "weight_decay");
  }
  try {
    make_optimizer(group_parameters(*network, {}), OptimizerOptions{}, std::numeric_limits<double>::infinity());
    FAIL() << "no error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.field(), "lr");
  }
}
