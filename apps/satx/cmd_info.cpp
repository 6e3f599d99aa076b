// satx info MODEL: what a model file holds, read from its header only (no tensors loaded).
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "satx/models/model_file.hpp"
#include "satx/io/safetensors.hpp"

namespace satx::cli {
namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
  int show_classes = 20;
};

bool is_buffer(const std::string& name) {
  for (const char* suffix : {".running_mean", ".running_var", ".num_batches_tracked"}) {
    const std::string s = suffix;
    if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) return true;
  }
  return false;
}

std::string floats(const std::vector<float>& values) {
  std::ostringstream text;
  text << "[";
  for (size_t i = 0; i < values.size(); ++i) text << (i ? ", " : "") << values[i];
  return text.str() + "]";
}

// One line for a metadata value: numbers to 4 significant digits, objects as "key value, ...".
std::string scalar(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    std::ostringstream text;
    text << std::setprecision(4) << value.get<double>();
    return text.str();
  }
  if (value.is_object()) {
    std::string text;
    for (const auto& [key, item] : value.items()) {
      if (item.is_null() || item.is_object() || item.is_array()) continue;
      text += (text.empty() ? "" : ", ") + key + " " + scalar(item);
    }
    return text;
  }
  return value.dump();
}

int run_info(const InfoOptions& o) {
  const io::SafetensorsHeader header = io::read_safetensors_header(o.model);
  const models::ModelMetadata m = models::read_model_metadata(o.model);
  int64_t parameters = 0;
  uint64_t bytes = 0;
  for (const auto& entry : header.tensors) {
    int64_t numel = 1;
    for (int64_t d : entry.shape) numel *= d;
    if (!is_buffer(entry.name)) parameters += numel;
    bytes += entry.end - entry.begin;
  }
  if (o.json) {
    nlohmann::json j = m.to_json();
    j["path"] = o.model;
    j["parameters"] = parameters;
    j["tensors"] = header.tensors.size();
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::ostream& out = std::cout;
  const int width = 13;
  auto row = [&](const std::string& key, const std::string& value) {
    out << std::left << std::setw(width) << key << value << "\n";
  };
  row("model", o.model);
  row("arch", m.arch);
  std::string classes = std::to_string(m.classes.size()) + ":";
  for (size_t i = 0; i < m.classes.size() && static_cast<int>(i) < o.show_classes; ++i)
    classes += (i ? ", " : " ") + m.classes[i];
  if (static_cast<int>(m.classes.size()) > o.show_classes) classes += ", ...";
  row("classes", classes);
  row("input", std::to_string(m.input_size) + "x" + std::to_string(m.input_size) + ", " +
                   std::to_string(m.in_channels) + " channels");
  row("normalize", "mean " + floats(m.mean) + ", std " + floats(m.std) + " (on [0, 1] inputs)");
  std::ostringstream threshold;
  if (m.threshold) threshold << *m.threshold << " (on the probability of '" << m.classes.back() << "')";
  row("threshold", m.threshold ? threshold.str() : "none (argmax)");
  std::ostringstream size;
  size << parameters << " parameters, " << header.tensors.size() << " tensors, " << std::fixed << std::setprecision(1)
       << bytes / 1e6 << " MB";
  row("size", size.str());
  row("satx", m.satx_version.empty() ? "unknown" : m.satx_version);
  if (m.training.empty()) {
    row("training", "none recorded");
  } else {
    out << "training\n";
    for (const auto& [key, value] : m.training.items())
      out << "  " << std::left << std::setw(width - 1) << key << " " << scalar(value) << "\n";
  }
  return 0;
}

}  // namespace

void setup_info(CLI::App& command, Run& run) {
  auto options = std::make_shared<InfoOptions>();
  command.add_option("model,--model", options->model, "A satx model file (.safetensors)")->required();
  command.add_flag("--json", options->json, "Print the metadata as JSON");
  command.add_option("--show-classes", options->show_classes, "How many class names to list");
  run = [options] { return run_info(*options); };
}

}  // namespace satx::cli
