// libFuzzer target: the Keras .h5 entry paths ("block1_conv1_bn/gamma:0") and shapes that
// convert_keras_layers maps to satx names must be refused with satx::Error when they do not
// fit, never crash. Input: lines; "#name" starts a layer, "weight_name shape..." adds a weight
// (up to 4 dimensions of at most 64 each).
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/io/keras_h5.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::vector<satx::io::KerasLayer> layers;
  std::string line;
  while (std::getline(in, line) && layers.size() < 512) {
    if (!line.empty() && line[0] == '#') {
      layers.push_back({line.substr(1), {}});
      continue;
    }
    if (layers.empty()) continue;
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    std::vector<int64_t> shape;
    int64_t dim = 0;
    while (shape.size() < 4 && fields >> dim) shape.push_back(dim < 0 ? 0 : dim % 65);
    layers.back().weights.emplace_back(name, torch::zeros(shape));
  }
  try {
    satx::io::guess_keras_arch(layers);
    for (const char* arch : {"", "xception", "mobilenetv2", "resnet50"}) {
      try {
        satx::io::convert_keras_layers(layers, arch, "fuzz");
      } catch (const satx::Error&) {
      }
    }
  } catch (const satx::Error&) {
  }
  return 0;
}
