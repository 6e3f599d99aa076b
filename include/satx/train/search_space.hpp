#pragma once
/// What `satx tune` searches: a declared space over `satx train` options, and the samplers
/// that draw configurations from it (random, and TPE after a few random trials).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace satx::train {

/// One searched option.
struct SearchParam {
  enum class Kind { Choice, Uniform, LogUniform, Int };
  std::string name;                    ///< the `satx train` option without dashes, dash-separated ("head-lr")
  Kind kind = Kind::Uniform;
  double low = 0.0;                    ///< Uniform, LogUniform, Int: inclusive bounds
  double high = 0.0;
  std::vector<nlohmann::json> values;  ///< Choice: strings, numbers or booleans
};

/// The searched options, in the order the space file lists them.
struct SearchSpace {
  std::vector<SearchParam> params;
  /// The space in the file format (what the journal records).
  nlohmann::json to_json() const;
};

/// Parses a space: a JSON object whose keys are `satx train` options (`lr`, `head-lr` or
/// `head_lr`) and whose values are `{"loguniform": [low, high]}`, `{"uniform": [low, high]}`,
/// `{"int": [low, high]}` or `{"choice": [v1, v2, ...]}`. Throws Usage naming the parameter and
/// what is wrong (unknown kind, reversed or empty range, non-positive log bound, ...).
SearchSpace parse_search_space(const nlohmann::json& spec);

/// Reads and parses a space file; Usage when it is missing or not JSON.
SearchSpace load_search_space(const std::filesystem::path& path);

/// One configuration's value as the command line spells it (`0.0003`, `adamw`, `true`).
std::string format_param_value(const nlohmann::json& value);

/// `-name=value` for every parameter of `params` (a JSON object), in the space's order.
std::vector<std::string> params_to_flags(const SearchSpace& space, const nlohmann::json& params);

/// A finished (or stopped, or failed) trial as the sampler sees it.
struct Observation {
  nlohmann::json params;  ///< name -> value
  double rank_key = 0.0;  ///< larger is better; failed trials are -infinity
};

/// How configurations are drawn.
struct SamplerOptions {
  std::string method = "tpe";  ///< tpe or random
  int startup_trials = 10;     ///< TPE: random trials before the model takes over
  int candidates = 24;         ///< TPE: draws from the good density scored per parameter
  double prior_weight = 1.0;   ///< TPE: weight of the uniform prior in both densities
};

/// Draws trial `index`'s configuration. Random for the first `startup_trials` (or always with
/// method random); afterwards the Tree-structured Parzen Estimator (Bergstra et al., 2011):
/// the history's best ~10% (at most 25) form the "good" density l(x), the rest g(x), and of
/// `candidates` draws from l the one with the largest l(x)/g(x) is taken, per parameter.
/// Deterministic in (seed, index, history).
nlohmann::json sample_params(const SearchSpace& space, const SamplerOptions& options, std::uint64_t seed, int index,
                             const std::vector<Observation>& history);

}  // namespace satx::train
