#include "satx/train/search_space.hpp"

#include <cmath>
#include <cstdio>
#include <set>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"

namespace satx::train {

namespace {

const char* kind_name(SearchParam::Kind kind) {
  switch (kind) {
    case SearchParam::Kind::Choice: return "choice";
    case SearchParam::Kind::Uniform: return "uniform";
    case SearchParam::Kind::LogUniform: return "loguniform";
    case SearchParam::Kind::Int: return "int";
  }
  return "?";
}

// The space names options as their flags do; config.json's underscores are accepted too.
std::string flag_name(std::string name) {
  while (!name.empty() && name.front() == '-') name.erase(name.begin());
  for (char& c : name)
    if (c == '_') c = '-';
  return name;
}

[[noreturn]] void bad_param(const std::string& name, const std::string& problem) {
  throw_usage("search space: parameter '" + name + "' " + problem);
}

SearchParam parse_param(const std::string& key, const nlohmann::json& spec) {
  SearchParam param;
  param.name = flag_name(key);
  if (param.name.empty()) throw_usage("search space: an empty parameter name");
  static const char* usage = R"(must be one of {"loguniform": [low, high]}, {"uniform": [low, high]}, {"int": [low, high]}, {"choice": [values]})";
  if (!spec.is_object() || spec.size() != 1) bad_param(key, usage);
  const auto& [kind, range] = *spec.items().begin();
  if (kind == "choice") {
    param.kind = SearchParam::Kind::Choice;
    if (!range.is_array() || range.empty()) bad_param(key, "choice needs a non-empty list of values");
    std::set<std::string> seen;
    for (const auto& value : range) {
      if (!value.is_string() && !value.is_number() && !value.is_boolean())
        bad_param(key, "choice values must be strings, numbers or booleans, got " + value.dump());
      if (!seen.insert(value.dump()).second) bad_param(key, "lists " + value.dump() + " twice");
      param.values.push_back(value);
    }
    return param;
  }
  if (kind == "uniform") param.kind = SearchParam::Kind::Uniform;
  else if (kind == "loguniform") param.kind = SearchParam::Kind::LogUniform;
  else if (kind == "int") param.kind = SearchParam::Kind::Int;
  else bad_param(key, "has unknown kind '" + kind + "'; " + usage);
  if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number())
    bad_param(key, std::string(kind_name(param.kind)) + " needs [low, high] (two numbers), got " + range.dump());
  param.low = range[0].get<double>();
  param.high = range[1].get<double>();
  if (!std::isfinite(param.low) || !std::isfinite(param.high) || !(param.low < param.high))
    bad_param(key, "range " + range.dump() + " must have low < high");
  if (param.kind == SearchParam::Kind::LogUniform && param.low <= 0.0)
    bad_param(key, "loguniform range " + range.dump() + " must be above 0");
  if (param.kind == SearchParam::Kind::Int &&
      (param.low != std::floor(param.low) || param.high != std::floor(param.high)))
    bad_param(key, "int range " + range.dump() + " must hold whole numbers");
  return param;
}

}  // namespace

nlohmann::json SearchSpace::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& param : params) {
    if (param.kind == SearchParam::Kind::Choice) out[param.name] = {{"choice", param.values}};
    else out[param.name] = {{kind_name(param.kind), {param.low, param.high}}};
  }
  return out;
}

SearchSpace parse_search_space(const nlohmann::json& spec) {
  if (!spec.is_object()) throw_usage("search space: expected a JSON object of parameters, got " + std::string(spec.type_name()));
  if (spec.empty()) throw_usage("search space: no parameters");
  SearchSpace space;
  std::set<std::string> names;
  for (const auto& [key, value] : spec.items()) {
    space.params.push_back(parse_param(key, value));
    if (!names.insert(space.params.back().name).second)
      throw_usage("search space: parameter '" + space.params.back().name + "' is declared twice");
  }
  return space;
}

SearchSpace load_search_space(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) throw_usage("search space " + path.string() + " is not a file");
  nlohmann::json spec;
  try {
    // nlohmann keeps object keys sorted; the file's order is not needed for a search.
    spec = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw_usage("search space " + path.string() + " is not valid JSON: " + e.what());
  }
  return parse_search_space(spec);
}

std::string format_param_value(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer()) return std::to_string(value.get<long long>());
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value.get<double>());
  return text;
}

std::vector<std::string> params_to_flags(const SearchSpace& space, const nlohmann::json& params) {
  std::vector<std::string> flags;
  for (const auto& param : space.params)
    if (params.contains(param.name)) flags.push_back("-" + param.name + "=" + format_param_value(params.at(param.name)));
  return flags;
}

}  // namespace satx::train
