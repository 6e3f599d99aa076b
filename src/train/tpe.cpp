// The samplers behind satx tune: uniform random draws and the Tree-structured Parzen
// Estimator (Bergstra, Bardenet, Bengio, Kegl: "Algorithms for Hyper-Parameter Optimization",
// NeurIPS 2011), independent per parameter as in hyperopt and Optuna's default.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "satx/core/random.hpp"
#include "satx/train/search_space.hpp"

namespace satx::train {

namespace {

using Kind = SearchParam::Kind;

// std's distributions differ between standard libraries; these do not.
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

double normal(std::mt19937_64& rng) {
  const double u1 = std::max(uniform01(rng), 1e-300);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * uniform01(rng));
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Numeric parameters live in a continuous internal space: log for loguniform, and integers
// widened by half a step each side so the ends are as likely as the middle.
struct Range {
  double low, high;
};

Range internal_range(const SearchParam& param) {
  if (param.kind == Kind::LogUniform) return {std::log(param.low), std::log(param.high)};
  if (param.kind == Kind::Int) return {param.low - 0.5, param.high + 0.5};
  return {param.low, param.high};
}

double to_internal(const SearchParam& param, const nlohmann::json& value) {
  const double x = value.get<double>();
  return param.kind == Kind::LogUniform ? std::log(x) : x;
}

// Rounded to the digits the command line carries, so the journal and the trial agree.
nlohmann::json to_value(const SearchParam& param, double x) {
  const Range range = internal_range(param);
  x = std::clamp(x, range.low, range.high);
  if (param.kind == Kind::Int) return static_cast<long long>(std::clamp(std::round(x), param.low, param.high));
  const double value = param.kind == Kind::LogUniform ? std::exp(x) : x;
  return std::stod(format_param_value(std::clamp(value, param.low, param.high)));
}

// A truncated Gaussian mixture on [low, high]: one component per observation plus a wide
// prior, with hyperopt's adaptive bandwidths (distance to the farther neighbour, clipped).
class Parzen {
 public:
  Parzen(const std::vector<double>& points, Range range, double prior_weight) : range_(range) {
    const double width = range.high - range.low;
    // (mu, is_prior): the prior sits among the points so the neighbour distances see it.
    std::vector<std::pair<double, bool>> mus;
    for (double x : points) mus.emplace_back(x, false);
    mus.emplace_back(0.5 * (range.low + range.high), true);
    std::sort(mus.begin(), mus.end());
    const double min_sigma = width / std::min(100.0, static_cast<double>(mus.size()) + 1.0);
    for (size_t i = 0; i < mus.size(); ++i) {
      const double mu = mus[i].first;
      if (mus[i].second) {
        components_.push_back({mu, width, prior_weight});
        continue;
      }
      const double left = i > 0 ? mu - mus[i - 1].first : mu - range.low;
      const double right = i + 1 < mus.size() ? mus[i + 1].first - mu : range.high - mu;
      components_.push_back({mu, std::clamp(std::max(left, right), min_sigma, width), 1.0});
    }
    double total = 0.0;
    for (const auto& component : components_) total += component.weight;
    for (auto& component : components_) component.weight /= total;
  }

  double sample(std::mt19937_64& rng) const {
    double pick = uniform01(rng);
    const Component* chosen = &components_.back();
    for (const auto& component : components_) {
      if (pick < component.weight) {
        chosen = &component;
        break;
      }
      pick -= component.weight;
    }
    for (int attempt = 0; attempt < 100; ++attempt) {
      const double x = chosen->mu + chosen->sigma * normal(rng);
      if (x >= range_.low && x <= range_.high) return x;
    }
    return std::clamp(chosen->mu, range_.low, range_.high);
  }

  double log_density(double x) const {
    double density = 0.0;
    for (const auto& c : components_) {
      const double mass = normal_cdf((range_.high - c.mu) / c.sigma) - normal_cdf((range_.low - c.mu) / c.sigma);
      const double z = (x - c.mu) / c.sigma;
      density += c.weight * std::exp(-0.5 * z * z) / (c.sigma * std::sqrt(2.0 * M_PI) * std::max(mass, 1e-12));
    }
    return std::log(std::max(density, 1e-300));
  }

 private:
  struct Component {
    double mu, sigma, weight;
  };
  Range range_;
  std::vector<Component> components_;
};

nlohmann::json sample_random(const SearchParam& param, std::mt19937_64& rng) {
  if (param.kind == Kind::Choice) return param.values[bounded_random(rng, param.values.size())];
  const Range range = internal_range(param);
  return to_value(param, range.low + (range.high - range.low) * uniform01(rng));
}

// Category weights: counts plus the prior spread evenly.
std::vector<double> category_weights(const SearchParam& param, const std::vector<const Observation*>& group,
                                     double prior_weight) {
  std::vector<double> weights(param.values.size(), prior_weight / static_cast<double>(param.values.size()));
  for (const auto* observation : group) {
    const auto& value = observation->params.at(param.name);
    for (size_t k = 0; k < param.values.size(); ++k)
      if (param.values[k] == value) weights[k] += 1.0;
  }
  double total = 0.0;
  for (double w : weights) total += w;
  for (double& w : weights) w /= total;
  return weights;
}

nlohmann::json sample_tpe(const SearchParam& param, const std::vector<const Observation*>& good,
                          const std::vector<const Observation*>& bad, const SamplerOptions& options,
                          std::mt19937_64& rng) {
  if (param.kind == Kind::Choice) {
    const auto l = category_weights(param, good, options.prior_weight);
    const auto g = category_weights(param, bad, options.prior_weight);
    size_t best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < options.candidates; ++c) {
      double pick = uniform01(rng);
      size_t k = 0;
      while (k + 1 < l.size() && pick >= l[k]) pick -= l[k++];
      const double score = std::log(l[k]) - std::log(g[k]);
      if (score > best_score) best_score = score, best = k;
    }
    return param.values[best];
  }
  const Range range = internal_range(param);
  auto points = [&](const std::vector<const Observation*>& group) {
    std::vector<double> xs;
    for (const auto* observation : group) xs.push_back(to_internal(param, observation->params.at(param.name)));
    return xs;
  };
  const Parzen l(points(good), range, options.prior_weight);
  const Parzen g(points(bad), range, options.prior_weight);
  double best_x = 0.0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < options.candidates; ++c) {
    const double x = l.sample(rng);
    const double score = l.log_density(x) - g.log_density(x);
    if (score > best_score) best_score = score, best_x = x;
  }
  return to_value(param, best_x);
}

}  // namespace

nlohmann::json sample_params(const SearchSpace& space, const SamplerOptions& options, std::uint64_t seed, int index,
                             const std::vector<Observation>& history) {
  std::mt19937_64 rng(splitmix64(seed ^ splitmix64(0x7475'6e65ULL + static_cast<std::uint64_t>(index))));
  // Only observations that hold every parameter take part (a journal from an older space may not).
  std::vector<const Observation*> usable;
  for (const auto& observation : history) {
    bool complete = true;
    for (const auto& param : space.params) complete = complete && observation.params.contains(param.name);
    if (complete) usable.push_back(&observation);
  }
  nlohmann::json params = nlohmann::json::object();
  const bool model = options.method == "tpe" && index >= options.startup_trials && usable.size() >= 2;
  if (!model) {
    for (const auto& param : space.params) params[param.name] = sample_random(param, rng);
    return params;
  }
  std::stable_sort(usable.begin(), usable.end(),
                   [](const Observation* a, const Observation* b) { return a->rank_key > b->rank_key; });
  // Optuna's default split: the best 10% (rounded up, at most 25) are "good".
  const size_t n_good = std::min<size_t>(25, static_cast<size_t>(std::ceil(0.1 * static_cast<double>(usable.size()))));
  const std::vector<const Observation*> good(usable.begin(), usable.begin() + static_cast<std::ptrdiff_t>(std::max<size_t>(1, n_good)));
  const std::vector<const Observation*> bad(usable.begin() + static_cast<std::ptrdiff_t>(good.size()), usable.end());
  for (const auto& param : space.params) params[param.name] = sample_tpe(param, good, bad, options, rng);
  return params;
}

}  // namespace satx::train
