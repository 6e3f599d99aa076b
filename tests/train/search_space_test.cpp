// The search space file and the samplers of satx tune.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "satx/core/error.hpp"
#include "satx/train/search_space.hpp"
#include "satx/train/tune.hpp"

namespace {

using satx::train::Observation;
using satx::train::SamplerOptions;
using satx::train::SearchSpace;
using json = nlohmann::json;

SearchSpace space_of(const char* text) { return satx::train::parse_search_space(json::parse(text)); }

TEST(SearchSpace, ParsesEveryKindAndSpellsNamesAsFlags) {
  const auto space = space_of(R"({"head_lr": {"loguniform": [1e-4, 1e-2]}, "freeze-stages": {"int": [0, 4]},
                                  "optimizer": {"choice": ["adamw", "sgd"]}, "jitter": {"uniform": [0, 0.3]}})");
  ASSERT_EQ(space.params.size(), 4u);
  const auto json_form = space.to_json();
  EXPECT_TRUE(json_form.contains("head-lr"));
  EXPECT_EQ(json_form["freeze-stages"]["int"], json::array({0.0, 4.0}));
  EXPECT_EQ(satx::train::parse_search_space(json_form).to_json(), json_form);
}

TEST(SearchSpace, MalformedEntriesAreNamedUsageErrors) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"({"lr": {"loguniform": [0, 1e-2]}})", "above 0"},
      {R"({"lr": {"uniform": [0.1, 0.01]}})", "low < high"},
      {R"({"lr": {"uniform": [0.1, 0.1]}})", "low < high"},
      {R"({"lr": {"uniform": [0.1]}})", "two numbers"},
      {R"({"lr": {"uniform": ["a", "b"]}})", "two numbers"},
      {R"({"lr": {"gaussian": [0, 1]}})", "unknown kind 'gaussian'"},
      {R"({"lr": 0.001})", "must be one of"},
      {R"({"lr": {"uniform": [0, 1], "int": [0, 1]}})", "must be one of"},
      {R"({"freeze-stages": {"int": [0.5, 3]}})", "whole numbers"},
      {R"({"optimizer": {"choice": []}})", "non-empty"},
      {R"({"optimizer": {"choice": ["sgd", "sgd"]}})", "twice"},
      {R"({"optimizer": {"choice": [["sgd"]]}})", "strings, numbers or booleans"},
      {R"({"head_lr": {"uniform": [0, 1]}, "head-lr": {"uniform": [0, 1]}})", "declared twice"},
      {R"({})", "no parameters"},
      {R"([1, 2])", "JSON object"},
  };
  for (const auto& [text, expected] : cases) {
    try {
      space_of(text);
      ADD_FAILURE() << "accepted " << text;
    } catch (const satx::Error& e) {
      EXPECT_EQ(e.code(), satx::ErrorCode::Usage) << text;
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << text << " -> " << e.what();
    }
  }
}

TEST(Sampler, DrawsInsideTheSpaceAndRepeatsForTheSameSeed) {
  const auto space = space_of(R"({"lr": {"loguniform": [1e-4, 1e-2]}, "n": {"int": [2, 5]},
                                  "opt": {"choice": ["a", "b", true]}, "x": {"uniform": [-1, 1]}})");
  SamplerOptions random;
  random.method = "random";
  std::set<long long> ints;
  for (int i = 0; i < 200; ++i) {
    const auto p = satx::train::sample_params(space, random, 7, i, {});
    EXPECT_GE(p["lr"].get<double>(), 1e-4);
    EXPECT_LE(p["lr"].get<double>(), 1e-2);
    ASSERT_TRUE(p["n"].is_number_integer());
    ints.insert(p["n"].get<long long>());
    EXPECT_TRUE(p["opt"] == "a" || p["opt"] == "b" || p["opt"] == true);
    EXPECT_GE(p["x"].get<double>(), -1.0);
    EXPECT_LE(p["x"].get<double>(), 1.0);
    EXPECT_EQ(p, satx::train::sample_params(space, random, 7, i, {}));
  }
  EXPECT_EQ(ints, (std::set<long long>{2, 3, 4, 5}));  // the ends as likely as the middle
  EXPECT_NE(satx::train::sample_params(space, random, 7, 0, {}), satx::train::sample_params(space, random, 8, 0, {}));
}

// A search on a known objective: TPE must end up nearer its optimum than random draws.
double run_search(const std::string& method, std::uint64_t seed) {
  const auto space = space_of(R"({"lr": {"loguniform": [1e-5, 1e-1]}, "opt": {"choice": ["a", "b", "c", "d"]}})");
  auto objective = [](const json& p) {
    const double d = std::log10(p["lr"].get<double>()) + 3.3;  // best at lr = 5e-4 and opt = "c"
    return -d * d - (p["opt"] == "c" ? 0.0 : 0.5);
  };
  SamplerOptions options;
  options.method = method;
  std::vector<Observation> history;
  double late = 0.0;
  for (int i = 0; i < 40; ++i) {
    const auto p = satx::train::sample_params(space, options, seed, i, history);
    const double value = objective(p);
    if (i >= 25) late += value;
    history.push_back({p, value});
  }
  return late / 15.0;
}

TEST(Sampler, TpeConcentratesOnTheGoodRegion) {
  double tpe = 0.0, random = 0.0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    tpe += run_search("tpe", seed);
    random += run_search("random", seed);
  }
  EXPECT_GT(tpe, random + 1.0) << "TPE's late trials should score well above random draws";
}

TEST(Asha, RungsAndCutoffs) {
  EXPECT_EQ(satx::train::asha_rungs({true, 1, 3.0}, 30), (std::vector<int>{1, 3, 9, 27}));
  EXPECT_EQ(satx::train::asha_rungs({true, 4, 3.0}, 12), (std::vector<int>{4, 12}));
  EXPECT_EQ(satx::train::asha_rungs({true, 2, 2.0}, 7), (std::vector<int>{2, 4}));
  EXPECT_FALSE(satx::train::asha_cutoff({}, 3.0).has_value());
  EXPECT_DOUBLE_EQ(*satx::train::asha_cutoff({0.5}, 3.0), 0.5);
  // The (1 - 1/3) quantile of 0..3: position 2 of 3.
  EXPECT_DOUBLE_EQ(*satx::train::asha_cutoff({0.3, 0.0, 0.2, 0.1}, 3.0), 0.2);
  EXPECT_NEAR(*satx::train::asha_cutoff({0.0, 0.1, 0.2}, 3.0), 0.1 + 0.1 / 3.0, 1e-12);
}

}  // namespace
