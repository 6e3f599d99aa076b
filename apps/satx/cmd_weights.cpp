// satx weights import | list: turn published ImageNet weights into a satx model file, and show
// which weight files each backbone can use.
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "satx/core/files.hpp"
#include "satx/models/model_file.hpp"
#include "satx/core/sha256.hpp"
#include "satx/io/weights.hpp"
#include "satx/models/weights.hpp"
#include "satx/models/registry.hpp"

namespace fs = std::filesystem;

namespace satx::cli {
namespace {

struct ImportOptions {
  std::string arch;
  std::string weights;
  std::string labels;
  std::string out;
  int input_size = 0;
  int in_channels = 3;
};

struct ListOptions {
  std::vector<std::string> dirs;
};

std::vector<std::string> read_labels(const std::string& path) {
  std::istringstream lines(read_file(path));
  std::vector<std::string> labels;
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i].empty()) throw_usage("-labels " + path + ": line " + std::to_string(i + 1) + " is empty");
  return labels;
}

int run_import(const ImportOptions& o, const CommonOptions& common) {
  Context context = make_cli_context(common);
  models::ImportWeightsOptions options;
  options.arch = o.arch;
  options.weights = o.weights;
  if (!o.labels.empty()) {
    if (!fs::is_regular_file(o.labels)) throw_usage("-labels " + o.labels + ": no such file");
    options.classes = read_labels(o.labels);
  }
  options.input_size = o.input_size;
  options.in_channels = o.in_channels;
  models::ImportedWeights imported = models::import_weights(options);
  for (const auto& note : imported.notes) context.log->info("{}", note);
  const std::string out = o.out.empty() ? imported.metadata.arch + "-imagenet.safetensors" : o.out;
  models::save_model_file(out, *imported.network, imported.metadata);
  context.log->info("wrote {}: {}, {} classes, input {}x{}, mean {} std {}", out, imported.metadata.arch,
                    imported.metadata.classes.size(), imported.metadata.input_size, imported.metadata.input_size,
                    nlohmann::json(imported.metadata.mean).dump(), nlohmann::json(imported.metadata.std).dump());
  std::cout << out << "\n";
  return 0;
}

std::string human_size(uint64_t bytes) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(1) << bytes / 1e6 << " MB";
  return text.str();
}

int run_list(const ListOptions& o) {
  std::vector<fs::path> dirs;
  for (const auto& dir : o.dirs) dirs.emplace_back(dir);
  if (dirs.empty()) dirs = models::weight_search_dirs();
  std::ostream& out = std::cout;
  for (const auto& m : models::manifests()) {
    out << m.arch;
    if (!m.aliases.empty()) {
      out << " (aliases:";
      for (const auto& alias : m.aliases) out << " " << alias;
      out << ")";
    }
    out << "\n  " << m.description << "\n";
    out << "  input " << m.input_size << "x" << m.input_size << ", feature dim " << m.feature_dim << ", "
        << m.imagenet_parameters << " parameters with the ImageNet head, head '" << m.head << "'\n";
    for (const auto& w : m.weights) {
      out << "  - " << w.name << "  [" << w.format << ", " << w.layout << "]";
      if (w.size) out << "  " << human_size(*w.size);
      out << "\n";
      if (!w.url.empty()) out << "      url     " << w.url << "\n";
      if (!w.sha256.empty()) out << "      sha256  " << w.sha256 << (w.sha256.size() < 64 ? " (published prefix)" : "") << "\n";
      if (!w.note.empty()) out << "      note    " << w.note << "\n";
      for (const auto& dir : dirs) {
        const fs::path candidate = dir / w.name;
        if (!fs::is_regular_file(candidate)) continue;
        std::string check = "sha256 not published";
        if (!w.sha256.empty()) {
          const auto identified = models::identify_weights(candidate);
          check = identified && identified->file == &w ? "sha256 ok" : "sha256 MISMATCH";
        }
        out << "      local   " << candidate.string() << " (" << check << ")\n";
      }
    }
  }
  out << "\nLocal folders searched:";
  for (const auto& dir : dirs) out << " " << dir.string();
  out << "\nDownload with scripts/fetch-weights.sh; import with `satx weights import -arch=A -weights=FILE`.\n";
  return 0;
}

}  // namespace

void setup_weights(CLI::App& command, Run& run) {
  auto import_options = std::make_shared<ImportOptions>();
  auto list_options = std::make_shared<ListOptions>();
  auto common = std::make_shared<CommonOptions>();
  command.require_subcommand(1);

  CLI::App* import = command.add_subcommand(
      "import", "Build a satx model file from ImageNet weights (.pth, .safetensors, Keras .h5)");
  auto& i = *import_options;
  import->add_option("--arch,--model,-m", i.arch, "Backbone the weights are for: xception, mobilenetv2, resnet50")
      ->required()->group("Weights");
  import->add_option("--weights,-w", i.weights, "Weights file: torchvision/timm .pth, .safetensors or Keras .h5")
      ->required()->group("Weights");
  import->add_option("--labels", i.labels, "Class names, one per line in logit order (default class_0..class_N)")
      ->group("Weights");
  import->add_option("--out,-o", i.out, "Model file to write (default <arch>-imagenet.safetensors)")->group("Output");
  import->add_option("--input-size", i.input_size, "Input size to record; 0 = the arch's default")->group("Output");
  import->add_option("--in-channels", i.in_channels, "Input channels; != 3 adapts the first convolution")->group("Output");
  add_common_options(*import, *common);

  CLI::App* list = command.add_subcommand("list", "Show each backbone's published weight files and which are present");
  list->add_option("--dir", list_options->dirs, "Folder to look for weight files in (repeatable; default $SATX_WEIGHTS, ./weights and ~/.cache/satx/weights, as -weights=auto)");

  run = [import, list, import_options, list_options, common] {
    if (import->parsed()) return run_import(*import_options, *common);
    if (list->parsed()) return run_list(*list_options);
    throw_usage("'satx weights' needs a subcommand: import or list");
  };
}

}  // namespace satx::cli
