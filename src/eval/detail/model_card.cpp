// The report's descriptive sections: the model card (what was trained on what, how, where and
// for how long) and a tuning folder's leaderboard.
#include <cmath>
#include <optional>

#include "eval/detail/html.hpp"
#include "eval/detail/report_sections.hpp"
#include "satx/core/context.hpp"
#include "satx/core/error.hpp"
#include "satx/data/dataset.hpp"

using nlohmann::json;

namespace satx::eval::detail {

namespace {

// `j[a][b]...` or null, without throwing on a missing or mistyped level.
const json& at_path(const json& j, std::initializer_list<const char*> keys) {
  static const json null_value;
  const json* node = &j;
  for (const char* key : keys) {
    if (!node->is_object()) return null_value;
    const auto it = node->find(key);
    if (it == node->end()) return null_value;
    node = &*it;
  }
  return *node;
}

std::string text_of(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) return short_number(value.get<double>());
  return value.dump();
}

std::string row(const std::string& key, const std::string& escaped_value) {
  return escaped_value.empty() ? "" : "<dt>" + escape(key) + "</dt><dd>" + escaped_value + "</dd>";
}

// One column of the data table: tiles per model class, unknown entries empty.
struct SplitColumn {
  std::string name;
  std::string folder;
  std::vector<std::optional<int64_t>> counts;
};

// Counts recorded as a list in `order`'s class order, re-indexed to the model's classes.
std::vector<std::optional<int64_t>> by_class(const json& counts, const json& order, const std::vector<std::string>& classes) {
  std::vector<std::optional<int64_t>> out(classes.size());
  if (!counts.is_array() || !order.is_array() || counts.size() != order.size()) return out;
  for (size_t i = 0; i < order.size(); ++i)
    for (size_t c = 0; c < classes.size(); ++c)
      if (order[i].is_string() && order[i].get<std::string>() == classes[c] && counts[i].is_number())
        out[c] = counts[i].get<int64_t>();
  return out;
}

std::vector<SplitColumn> split_columns(const PageData& page) {
  const auto& classes = page.classes();
  std::vector<SplitColumn> columns;
  const json& config = page.run ? page.run->config : json();
  const json& order = at_path(config, {"resolved", "classes"});
  if (!config.is_null()) {
    columns.push_back({"train", text_of(at_path(config, {"options", "train"})),
                       by_class(at_path(config, {"resolved", "train_class_counts"}), order, classes)});
    SplitColumn valid{"valid", text_of(at_path(config, {"options", "valid"})),
                      by_class(at_path(config, {"resolved", "valid_class_counts"}), order, classes)};
    if (!valid.counts.empty() && !valid.counts.front() && !valid.folder.empty()) {
      // Runs before satx recorded validation counts: count the folder when it is still there.
      try {
        const data::Dataset found = data::discover_dataset(valid.folder);
        for (size_t c = 0; c < classes.size(); ++c)
          for (size_t f = 0; f < found.classes.size(); ++f)
            if (found.classes[f] == classes[c]) valid.counts[c] = found.class_counts[f];
      } catch (const Error&) {
      }
    }
    columns.push_back(std::move(valid));
  }
  if (page.evaluation) {
    SplitColumn test{"test", page.evaluation->data, {}};
    for (const auto& m : page.evaluation->report.per_class) test.counts.push_back(m.support);
    columns.push_back(std::move(test));
  }
  return columns;
}

std::string data_table(const PageData& page) {
  const auto& classes = page.classes();
  const std::vector<SplitColumn> columns = split_columns(page);
  if (classes.empty() || columns.empty()) return note("No record of the data: the run has no config.json and no tiles were scored.");
  std::string html = "<table class=\"metrics\"><thead><tr><th>class</th>";
  for (const auto& column : columns) html += "<th title=\"" + escape(column.folder) + "\">" + escape(column.name) + "</th>";
  html += "</tr></thead><tbody>";
  std::vector<int64_t> totals(columns.size(), 0);
  for (size_t c = 0; c < classes.size(); ++c) {
    html += "<tr><th class=\"row\">" + escape(classes[c]) + "</th>";
    for (size_t k = 0; k < columns.size(); ++k) {
      const auto& value = c < columns[k].counts.size() ? columns[k].counts[c] : std::nullopt;
      if (value) totals[k] += *value;
      html += "<td class=\"num\">" + (value ? count(*value) : std::string("&ndash;")) + "</td>";
    }
    html += "</tr>";
  }
  html += "</tbody><tfoot><tr><th class=\"row\">all</th>";
  for (int64_t total : totals) html += "<td class=\"num\">" + count(total) + "</td>";
  html += "</tr></tfoot></table><dl class=\"kv\">";
  for (const auto& column : columns) html += row(column.name + " folder", escape(column.folder));
  if (page.run) {
    const json& extra = at_path(page.run->config, {"options", "add_train"});
    if (extra.is_array() && !extra.empty()) html += row("added to train", escape(extra.dump()));
  }
  return html + "</dl>";
}

std::string model_list(const PageData& page) {
  std::string html = "<dl class=\"kv\">";
  if (!page.input.model_path.empty()) html += row("file", escape(page.input.model_path));
  if (!page.model) return html + "</dl>" + note("No model file: the run has no best.safetensors.");
  const models::ModelMetadata& m = *page.model;
  html += row("architecture", escape(m.arch));
  std::string names;
  for (const auto& name : m.classes) names += (names.empty() ? "" : ", ") + name;
  html += row("classes", std::to_string(m.classes.size()) + ": " + escape(names));
  html += row("input", std::to_string(m.input_size) + " &times; " + std::to_string(m.input_size) + " px, " +
                           std::to_string(m.in_channels) + " channels");
  std::string mean, deviation;
  for (float v : m.mean) mean += (mean.empty() ? "" : ", ") + short_number(v);
  for (float v : m.std) deviation += (deviation.empty() ? "" : ", ") + short_number(v);
  html += row("normalization", "mean " + mean + "; std " + deviation);
  std::string threshold = "none (argmax)";
  if (m.threshold) {
    threshold = short_number(*m.threshold) + " on p(" + escape(m.classes.back()) + ")";
    const std::string rule = text_of(at_path(m.training, {"threshold", "criterion"}));
    const std::string chosen = rule.empty() ? text_of(at_path(m.training, {"threshold_rule"})) : rule;
    if (!chosen.empty()) threshold += ", rule " + escape(chosen);
  }
  if (m.classes.size() == 2) html += row("decision threshold", threshold);
  const json& epoch = at_path(m.training, {"epoch"});
  if (epoch.is_object())
    html += row("checkpoint", escape(text_of(at_path(m.training, {"checkpoint"}))) + " after phase " +
                                  escape(text_of(epoch.value("phase", json()))) + " epoch " + text_of(epoch.value("epoch", json())) +
                                  " (global " + text_of(epoch.value("global_epoch", json())) + "): val accuracy " +
                                  fixed(epoch.value("val_accuracy", std::nan(""))) + ", val macro F1 " +
                                  fixed(epoch.value("val_macro_f1", std::nan(""))));
  return html + "</dl>";
}

std::string recipe(const PageData& page) {
  const json& options = page.run ? at_path(page.run->config, {"options"}) : json();
  const json& training = page.model ? page.model->training : json();
  std::string html = "<dl class=\"kv wide\">";
  if (options.is_object()) {
    for (const char* key : {"model", "input_size", "head_epochs", "head_lr", "epochs", "lr", "batch", "optimizer",
                            "weight_decay", "schedule", "warmup_epochs", "loss", "label_smoothing", "class_weights",
                            "sampler", "augment", "mixup", "cutmix", "ema", "monitor", "patience", "choose_threshold"})
      html += row(key, escape(text_of(at_path(options, {key}))));
    html += row("seed", escape(text_of(at_path(page.run->config, {"resolved", "seed"}))));
    // A long note would stretch a column of the grid, so the weights get a line of their own.
    html += "</dl><dl class=\"kv\">" +
            row("weights", escape(text_of(at_path(page.run->config, {"resolved", "weights", "note"}))));
  } else if (training.is_object()) {
    for (const char* key : {"epochs", "head_epochs", "monitor", "seed"}) html += row(key, escape(text_of(at_path(training, {key}))));
    html += row("weights", escape(text_of(at_path(training, {"weights", "note"}))));
  } else {
    return note("No recipe recorded: the report has no config.json or model metadata.");
  }
  html += "</dl>";
  if (options.is_object()) {
    html += "<details><summary>Every option (config.json)</summary><dl class=\"kv\">";
    for (const auto& [key, value] : options.items()) html += "<dt>" + escape(key) + "</dt><dd>" + escape(text_of(value)) + "</dd>";
    html += "</dl></details>";
  }
  return html;
}

std::string machine(const PageData& page) {
  const json& config = page.run ? page.run->config : json();
  const json& resolved = at_path(config, {"resolved"});
  std::string html = "<dl class=\"kv\">";
  const std::string trained_with = page.model && !page.model->satx_version.empty() ? page.model->satx_version
                                                                                  : text_of(at_path(resolved, {"satx_version"}));
  html += row("trained with satx", escape(trained_with));
  html += row("LibTorch (training)", escape(text_of(at_path(resolved, {"torch_version"}))));
  html += row("report by satx", escape(version()) + ", LibTorch " + escape(torch_version()));
  if (page.model) html += row("model file format", std::to_string(page.model->format_version));
  std::string hardware = text_of(at_path(resolved, {"hardware"}));
  if (hardware.empty() && !text_of(at_path(resolved, {"device"})).empty())
    hardware = "device " + text_of(at_path(resolved, {"device"})) + " (the host was not recorded by this satx version)";
  html += row("hardware", escape(hardware.empty() ? std::string("not recorded") : hardware));
  html += row("mixed precision", escape(text_of(at_path(resolved, {"amp"}))));
  double training_seconds = 0;
  size_t timed = 0;
  if (page.run)
    for (const auto& e : page.run->epochs)
      if (std::isfinite(e.seconds)) {
        training_seconds += e.seconds;
        ++timed;
      }
  if (page.run && page.run->run_seconds)
    html += row("wall time, whole run", duration(*page.run->run_seconds) + " (config.json to the last metrics line)");
  if (timed > 0)
    html += row("wall time, training", duration(training_seconds) + " (" + std::to_string(timed) + " epochs with validation)");
  const json& test_seconds = at_path(page.run ? page.run->test_metrics : json(), {"seconds"});
  if (test_seconds.is_number()) html += row("wall time, test pass", duration(test_seconds.get<double>()));
  if (page.evaluation && page.evaluation->seconds > 0)
    html += row("wall time, scoring for this report", duration(page.evaluation->seconds));
  return html + "</dl>";
}

}  // namespace

std::string model_card_section(const PageData& page) {
  std::string html = "<div class=\"columns\"><div><h3>Model</h3>" + model_list(page) + "</div><div><h3>Versions, hardware, "
                     "wall time</h3>" + machine(page) + "</div></div>";
  html += "<h3>Data per class and split</h3>" + data_table(page);
  html += "<h3>Recipe</h3>" + recipe(page);
  return section("model-card", "Model card", html);
}

std::string leaderboard_section(const PageData& page) {
  const Leaderboard& board = *page.run->leaderboard;
  const size_t limit = page.options.leaderboard_rows;
  const size_t run_column = board.column("run");
  const size_t trial_column = board.column("trial");
  std::string best;
  if (board.best_row < board.rows.size()) {
    const auto& r = board.rows[board.best_row];
    best = (trial_column < r.size() ? "trial " + r[trial_column] + ", " : std::string()) +
           (run_column < r.size() ? "run " + r[run_column] : std::string());
  }
  std::string html = "<p class=\"caption\">" + std::to_string(board.rows.size()) + " trials of " +
                     escape(page.run->tune_folder.string()) + ", best first" +
                     (board.rows.size() > limit ? " (the top " + std::to_string(limit) + " shown)" : std::string()) +
                     ". The highlighted row is the best trial (" + escape(best) +
                     "); the rest of this report is about its run, " + escape(page.run->folder.string()) + ".</p>";
  html += "<div class=\"scroll\"><table class=\"metrics leaderboard\"><thead><tr>";
  for (const auto& name : board.header) html += "<th>" + escape(name) + "</th>";
  html += "</tr></thead><tbody>";
  for (size_t r = 0; r < board.rows.size(); ++r) {
    // The best row stays visible even when a stopped trial outranks it past the cut.
    if (r >= limit && r != board.best_row) continue;
    html += r == board.best_row ? "<tr class=\"best\" title=\"best trial\">" : "<tr>";
    for (size_t c = 0; c < board.header.size(); ++c)
      html += "<td>" + escape(c < board.rows[r].size() ? board.rows[r][c] : std::string()) + "</td>";
    html += "</tr>";
  }
  return section("leaderboard", "Tuning leaderboard", html + "</tbody></table></div>\n");
}

}  // namespace satx::eval::detail
