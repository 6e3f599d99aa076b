#include "satx/core/error.hpp"

#include <algorithm>
#include <cctype>

namespace satx {

const std::vector<ExitCodeInfo>& exit_code_table() {
  static const std::vector<ExitCodeInfo> table = {
      {ErrorCode::Ok, "ok", "success"},
      {ErrorCode::Runtime, "runtime", "runtime failure (I/O error, out of memory, command not built)"},
      {ErrorCode::Usage, "usage", "usage error: bad flag or value (the message names it)"},
      {ErrorCode::BadData, "bad-data", "bad data or model file (corrupt tiles with -strict, malformed file)"},
      {ErrorCode::QualityGate, "quality-gate", "a quality gate failed (eval -fail-under)"},
  };
  return table;
}

int exit_code(ErrorCode code) { return static_cast<int>(code); }

std::string option_message(const std::string& name, const std::string& problem) {
  const bool attached = !problem.empty() && (problem[0] == '=' || problem[0] == ':');
  return name + (attached ? "" : " ") + problem;
}

void throw_usage(const std::string& message) { throw Error(ErrorCode::Usage, message); }
void throw_bad_data(const std::string& message) { throw Error(ErrorCode::BadData, message); }
void throw_runtime(const std::string& message) { throw Error(ErrorCode::Runtime, message); }
void throw_option(const std::string& field, const std::string& problem) { throw Error(ErrorCode::Usage, field, problem); }

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& candidate : candidates) {
    size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  // A suggestion further away than half the word is noise rather than help.
  if (best_distance == std::string::npos || best_distance > std::max<size_t>(2, word.size() / 2)) return "";
  return best;
}

std::string unknown_value_message(const std::string& what, const std::string& word,
                                  const std::vector<std::string>& candidates) {
  std::string message = "unknown " + what + " '" + word + "'";
  std::string suggestion = nearest(word, candidates);
  if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
  message += " (valid: ";
  for (size_t i = 0; i < candidates.size(); ++i) message += (i ? ", " : "") + candidates[i];
  return message + ")";
}

}  // namespace satx
