// import_weights (declared in weights.hpp): published ImageNet weights -> a ready network plus
// the metadata of a satx model file.
#include <set>

#include <torch/torch.h>

#include "satx/core/context.hpp"
#include "satx/core/error.hpp"
#include "satx/core/strings.hpp"
#include "satx/io/keras_h5.hpp"
#include "satx/io/weights.hpp"
#include "satx/models/weights.hpp"

namespace fs = std::filesystem;

namespace satx::models {
namespace {

// C channels from an RGB normalization: each extra band gets the RGB average.
std::vector<float> per_channel(const std::vector<float>& rgb, int channels) {
  if (static_cast<int>(rgb.size()) == channels) return rgb;
  float sum = 0;
  for (float v : rgb) sum += v;
  return std::vector<float>(static_cast<size_t>(channels), rgb.empty() ? 0.f : sum / static_cast<float>(rgb.size()));
}

}  // namespace

ImportedWeights import_weights(const ImportWeightsOptions& options) {
  const Manifest& manifest = find_manifest(options.arch);
  if (options.in_channels < 1) throw_usage("in_channels must be at least 1, got " + std::to_string(options.in_channels));
  std::error_code error;
  if (!fs::exists(options.weights, error)) throw_usage("weights file " + options.weights.string() + " does not exist");
  if (!fs::is_regular_file(options.weights, error))
    throw_usage("weights file " + options.weights.string() + " is " +
                (fs::is_directory(options.weights, error) ? "a folder" : "not a regular file") +
                "; give the .pth, .safetensors or .h5 file itself");

  ImportedWeights result;
  const io::WeightsFormat format = io::detect_weights_format(options.weights);
  io::TensorList tensors;
  std::vector<float> mean = manifest.mean, std = manifest.std;
  if (format == io::WeightsFormat::KerasH5) {
    io::KerasImport keras = io::read_keras_h5(options.weights, manifest.arch);
    tensors = std::move(keras.tensors);
    mean = keras.mean;
    std = keras.std;
    result.notes = keras.notes;
  } else {
    tensors = io::read_weights(options.weights, manifest.arch);
  }

  nlohmann::json source = {{"weights", options.weights.filename().string()}, {"format", io::weights_format_name(format)}};
  result.identified = identify_weights(options.weights);
  if (const auto& id = result.identified) {
    source["sha256"] = id->sha256;
    source["manifest_entry"] = id->file->name;
    if (id->manifest->arch != manifest.arch)
      result.notes.push_back(options.weights.string() + " is listed for " + id->manifest->arch + ", not " + manifest.arch);
    // Keras files carry their own preprocessing; a manifest entry without one defers to it.
    if (format != io::WeightsFormat::KerasH5 || !id->file->mean.empty()) {
      mean = id->mean;
      std = id->std;
    }
    result.notes.push_back("identified " + options.weights.filename().string() + " as " + id->file->name +
                           (id->file->note.empty() ? "" : " (" + id->file->note + ")"));
  } else {
    result.notes.push_back(options.weights.filename().string() + " is not in the manifests; using " +
                           (format == io::WeightsFormat::KerasH5 ? "Keras's" : manifest.arch + "'s default") +
                           " normalization");
  }

  // The file's classification head, when it has one, fixes the class count.
  int64_t head_classes = 0;
  for (const auto& [name, tensor] : tensors)
    if (name == manifest.head + ".weight" && tensor.dim() == 2) head_classes = tensor.size(0);
  std::vector<std::string> classes = options.classes;
  if (head_classes > 0 && !classes.empty() && static_cast<int64_t>(classes.size()) != head_classes)
    throw_usage(std::to_string(classes.size()) + " class names for weights whose head has " +
                std::to_string(head_classes) + " classes");
  if (head_classes == 0 && classes.empty()) {
    // A file for another architecture also lacks this head: name that (bad data) before asking for labels.
    auto probe = create_network(manifest.arch, {1, options.in_channels});
    LoadWeightsOptions check;
    check.origin = options.weights.string();
    check.skip_head = true;
    load_weights_into(*probe, tensors, check);
    throw_usage(options.weights.string() + " has no classification head ('" + manifest.head +
                "'): give class names (-labels) to size a new one, or train from it with `satx train -weights=`");
  }
  if (classes.empty())
    for (int64_t i = 0; i < head_classes; ++i) classes.push_back("class_" + std::to_string(i));
  // Label lists repeat names (ImageNet has two "crane"s and two "maillot"s); a model's classes
  // must be unique, so a repeat gets its index: "crane_517".
  std::set<std::string> seen;
  std::vector<std::string> renamed;
  for (size_t i = 0; i < classes.size(); ++i)
    if (!seen.insert(classes[i]).second) {
      classes[i] += "_" + std::to_string(i);
      renamed.push_back(classes[i]);
      if (!seen.insert(classes[i]).second) throw_usage("class name '" + classes[i] + "' is listed twice in -labels");
    }
  if (!renamed.empty())
    result.notes.push_back("repeated class names made unique with their index: " + join(renamed, ", "));
  if (head_classes == 0)
    result.notes.push_back("the weights have no head: the " + std::to_string(classes.size()) +
                           "-class head is randomly initialized");

  result.network = create_network(manifest.arch, {static_cast<int64_t>(classes.size()), options.in_channels});
  LoadWeightsOptions load;
  load.origin = options.weights.string();
  load.skip_head = head_classes == 0;
  const LoadWeightsReport report = load_weights_into(*result.network, tensors, load);
  if (report.adapted_input)
    result.notes.push_back("first convolution adapted from RGB to " + std::to_string(options.in_channels) + " channels");
  result.network->eval();

  ModelMetadata& m = result.metadata;
  m.arch = manifest.arch;
  m.classes = std::move(classes);
  m.input_size = options.input_size > 0 ? options.input_size : manifest.input_size;
  m.in_channels = options.in_channels;
  m.mean = per_channel(mean, options.in_channels);
  m.std = per_channel(std, options.in_channels);
  m.satx_version = satx::version();
  m.training = {{"source", "imported"}, {"imported", source}};
  return result;
}

}  // namespace satx::models
