#include "support/tiny_model.hpp"

#include <torch/torch.h>

#include "satx/data/dataset.hpp"
#include "satx/io/image.hpp"
#include "satx/models/model_file.hpp"
#include "satx/models/network.hpp"
#include "satx/models/registry.hpp"
#include "satx/infer/preprocess.hpp"
#include "support/test_support.hpp"

namespace satx::testing {

void write_tiny_model(const std::filesystem::path& model, const std::filesystem::path& data,
                      const std::vector<std::string>& classes, int per_class, int size, bool fit_head) {
  make_tiny_dataset(data, classes, per_class, size);
  torch::manual_seed(7);
  const models::Manifest& manifest = models::find_manifest("mobilenetv2");
  auto network = models::create_network("mobilenetv2", {static_cast<int64_t>(classes.size()), 3});
  network->eval();

  models::ModelMetadata metadata;
  metadata.arch = manifest.arch;
  metadata.classes = classes;
  metadata.input_size = size;
  metadata.in_channels = 3;
  metadata.mean = manifest.mean;
  metadata.std = manifest.std;

  if (fit_head) {
    data::Dataset dataset = data::discover_dataset(data.string());
    data::relabel(dataset, classes);
    std::vector<torch::Tensor> tiles;
    std::vector<int64_t> labels;
    for (const auto& sample : dataset.samples) {
      cv::Mat pixels = io::decode_tile(sample.path).pixels;
      tiles.push_back(torch::from_blob(pixels.data, {pixels.rows, pixels.cols, 3}, torch::kUInt8).permute({2, 0, 1}).clone());
      labels.push_back(sample.label);
    }
    infer::PreprocessOptions pre;
    pre.input_size = size;
    pre.mean = metadata.mean;
    pre.std = metadata.std;
    const torch::Tensor inputs = infer::Preprocessor(pre)(torch::stack(tiles));
    torch::Tensor features;
    {
      torch::NoGradGuard no_grad;
      // A randomly initialized network in inference mode shrinks activations layer by layer
      // (to ~1e-10 at MobileNetV2's end), leaving the head nothing to separate: calibrate the
      // BatchNorm statistics on the tiles first, as a trained network would have them.
      network->train();
      for (int pass = 0; pass < 50; ++pass) network->forward(inputs);
      network->eval();
      features = network->forward_features(inputs);
    }
    const torch::Tensor target = torch::tensor(labels, torch::kLong);
    torch::optim::Adam optimizer(network->head_parameters(), torch::optim::AdamOptions(1e-2));
    for (int step = 0; step < 300; ++step) {
      optimizer.zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(network->forward_head(features), target);
      loss.backward();
      optimizer.step();
    }
  }
  models::save_model_file(model, *network, metadata);
}

std::vector<std::string> tiny_tile_paths(const std::filesystem::path& data, const std::vector<std::string>& classes,
                                         int per_class) {
  std::vector<std::string> paths;
  for (const auto& name : classes)
    for (int i = 0; i < per_class; ++i) {
      char file[64];
      std::snprintf(file, sizeof file, "%s_%04d.png", name.c_str(), i);
      paths.push_back((data / name / file).string());
    }
  return paths;
}

Context cpu_context(uint64_t seed) {
  ContextOptions options;
  options.device = "cpu";
  options.seed = seed;
  options.threads = 2;
  return make_context(options);
}

infer::InferenceEngine cpu_engine(const std::filesystem::path& model) {
  return infer::InferenceEngine(models::load_model_file(model, torch::kCPU), torch::kCPU);
}

}  // namespace satx::testing
