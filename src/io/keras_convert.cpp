// Keras Applications layer names -> satx (torchvision / timm legacy) state-dict names, and
// Keras tensor layouts -> PyTorch's. docs/weights.md has the table this code implements.
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/strings.hpp"
#include "satx/io/keras_h5.hpp"

namespace satx::io {
namespace {

constexpr double kTorchEps = 1e-5;

// A Keras layer's weights by role, whatever the Keras version called them.
struct LayerWeights {
  torch::Tensor kernel, bias, depthwise, pointwise, gamma, beta, mean, variance;
  bool is_batchnorm() const { return mean.defined() || variance.defined(); }
};

// Where a layer lands: its state-dict prefix and, for a conv whose bias PyTorch has no slot
// for, the BatchNorm that absorbs it.
struct Target {
  std::string prefix;
  std::string bias_into_batchnorm;
  double keras_eps = 1e-3;
};


// "block1_conv1/kernel:0" -> kernel; Keras 1 wrote "block1_conv1_W:0" -> W.
std::string weight_role(const std::string& layer, const std::string& weight_name) {
  std::string leaf = weight_name.substr(weight_name.rfind('/') + 1);
  const auto colon = leaf.rfind(':');
  if (colon != std::string::npos) leaf.erase(colon);
  if (starts_with(leaf, layer + "_")) leaf.erase(0, layer.size() + 1);
  return leaf;
}

LayerWeights collect(const KerasLayer& layer, const std::string& origin) {
  LayerWeights w;
  for (const auto& [name, tensor] : layer.weights) {
    const std::string role = weight_role(layer.name, name);
    torch::Tensor* slot = nullptr;
    if (role == "kernel" || role == "W") slot = &w.kernel;
    else if (role == "bias" || role == "b") slot = &w.bias;
    else if (role == "depthwise_kernel") slot = &w.depthwise;
    else if (role == "pointwise_kernel") slot = &w.pointwise;
    else if (role == "gamma") slot = &w.gamma;
    else if (role == "beta") slot = &w.beta;
    else if (role == "moving_mean" || role == "running_mean") slot = &w.mean;
    else if (role == "moving_variance" || role == "running_std" || role == "running_var") slot = &w.variance;
    if (!slot) throw_bad_data(origin + ": layer '" + layer.name + "' has a weight '" + name + "' satx does not know");
    if (slot->defined()) throw_bad_data(origin + ": layer '" + layer.name + "' has two weights for role " + role);
    *slot = tensor.to(torch::kFloat).contiguous();
  }
  return w;
}

// Parses "<prefix><int><middle><int><rest>"-style names without regex.
bool parse_two(const std::string& name, const char* format, int& a, int& b, std::string& rest) {
  int consumed = -1;
  if (std::sscanf(name.c_str(), format, &a, &b, &consumed) != 2 || consumed < 0) return false;
  rest = name.substr(static_cast<size_t>(consumed));
  return true;
}

std::optional<Target> xception_target(const std::string& name, const LayerWeights& w) {
  static const std::map<std::string, std::string> fixed = {
      {"block1_conv1", "conv1"},     {"block1_conv1_bn", "bn1"},    {"block1_conv2", "conv2"},
      {"block1_conv2_bn", "bn2"},    {"block14_sepconv1", "conv3"}, {"block14_sepconv1_bn", "bn3"},
      {"block14_sepconv2", "conv4"}, {"block14_sepconv2_bn", "bn4"}, {"predictions", "fc"},
  };
  if (auto it = fixed.find(name); it != fixed.end()) return Target{it->second};
  int keras_block = 0, sepconv = 0;
  std::string rest;
  if (parse_two(name, "block%d_sepconv%d%n", keras_block, sepconv, rest) && keras_block >= 2 &&
      keras_block <= 13 && sepconv >= 1 && sepconv <= 3 && (rest.empty() || rest == "_bn")) {
    // timm's block b = Keras block b + 1; its `rep` interleaves [relu,] sepconv, bn. Block 1
    // starts without the ReLU, so its sepconvs sit at 0 and 3 instead of 1, 4, 7.
    const int block = keras_block - 1;
    const int index = (sepconv - 1) * 3 + (block == 1 ? 0 : 1) + (rest == "_bn" ? 1 : 0);
    return Target{"block" + std::to_string(block) + ".rep." + std::to_string(index)};
  }
  // The residual 1x1 convolutions and their BatchNorms are unnamed in Keras ("conv2d_3",
  // "batch_normalization_1", ...; numbering varies by Keras version): their width tells them apart.
  static const std::map<int64_t, int> skip_block = {{128, 1}, {256, 2}, {728, 3}, {1024, 12}};
  int64_t width = -1;
  if (w.kernel.defined() && w.kernel.dim() == 4 && w.kernel.size(0) == 1 && w.kernel.size(1) == 1)
    width = w.kernel.size(3);
  else if (w.is_batchnorm() && w.mean.defined())
    width = w.mean.size(0);
  if (auto it = skip_block.find(width); it != skip_block.end())
    return Target{"block" + std::to_string(it->second) + (w.is_batchnorm() ? ".skipbn" : ".skip")};
  return std::nullopt;
}

std::optional<Target> resnet50_target(const std::string& name, const LayerWeights&) {
  // keras.applications.resnet (TF 2): conv1_conv, conv2_block1_0_conv, ...; BN eps 1.001e-5.
  constexpr double kEps = 1.001e-5;
  if (name == "conv1_conv") return Target{"conv1", "bn1", kEps};
  if (name == "conv1_bn") return Target{"bn1", "", kEps};
  if (name == "predictions" || name == "fc1000") return Target{"fc"};
  int stage = 0, block = 0;
  std::string rest;
  if (parse_two(name, "conv%d_block%d%n", stage, block, rest) && stage >= 2 && stage <= 5 && block >= 1 &&
      rest.size() >= 3 && rest[0] == '_' && rest[1] >= '0' && rest[1] <= '3') {
    const std::string layer = "layer" + std::to_string(stage - 1) + "." + std::to_string(block - 1) + ".";
    const int unit = rest[1] - '0';
    const std::string kind = rest.substr(2);
    const std::string conv = layer + (unit == 0 ? "downsample.0" : "conv" + std::to_string(unit));
    const std::string bn = layer + (unit == 0 ? "downsample.1" : "bn" + std::to_string(unit));
    if (kind == "_conv") return Target{conv, bn, kEps};
    if (kind == "_bn") return Target{bn, "", kEps};
    return std::nullopt;
  }
  // Keras 2.0-2.2 resnet50.py: conv1/bn_conv1, res2a_branch2a/bn2a_branch2a, res2a_branch1; eps 1e-3.
  if (name == "conv1") return Target{"conv1", "bn1"};
  if (name == "bn_conv1") return Target{"bn1"};
  for (const char* kind : {"res", "bn"}) {
    const std::string head = kind;
    if (!starts_with(name, head) || name.size() < head.size() + 2) continue;
    const int s = name[head.size()] - '0';
    const int b = name[head.size() + 1] - 'a';
    const std::string tail = name.substr(head.size() + 2);
    if (s < 2 || s > 5 || b < 0 || b > 5) continue;
    const std::string layer = "layer" + std::to_string(s - 1) + "." + std::to_string(b) + ".";
    static const std::map<std::string, std::pair<std::string, std::string>> branch = {
        {"_branch2a", {"conv1", "bn1"}}, {"_branch2b", {"conv2", "bn2"}}, {"_branch2c", {"conv3", "bn3"}},
        {"_branch1", {"downsample.0", "downsample.1"}}};
    auto it = branch.find(tail);
    if (it == branch.end()) continue;
    if (head == "res") return Target{layer + it->second.first, layer + it->second.second};
    return Target{layer + it->second.second};
  }
  return std::nullopt;
}

std::optional<Target> mobilenetv2_target(const std::string& name, const LayerWeights&) {
  static const std::map<std::string, std::string> fixed = {
      {"Conv1", "features.0.0"},
      {"bn_Conv1", "features.0.1"},
      {"expanded_conv_depthwise", "features.1.conv.0.0"},
      {"expanded_conv_depthwise_BN", "features.1.conv.0.1"},
      {"expanded_conv_project", "features.1.conv.1"},
      {"expanded_conv_project_BN", "features.1.conv.2"},
      {"Conv_1", "features.18.0"},
      {"Conv_1_bn", "features.18.1"},
      {"Logits", "classifier.1"},
  };
  if (auto it = fixed.find(name); it != fixed.end()) return Target{it->second};
  static const std::map<std::string, std::string> unit = {
      {"_expand", "conv.0.0"},    {"_expand_BN", "conv.0.1"}, {"_depthwise", "conv.1.0"},
      {"_depthwise_BN", "conv.1.1"}, {"_project", "conv.2"},   {"_project_BN", "conv.3"},
  };
  int block = 0;
  if (std::sscanf(name.c_str(), "block_%d", &block) == 1 && block >= 1 && block <= 16) {
    const std::string number = "block_" + std::to_string(block);
    if (starts_with(name, number))
      if (auto it = unit.find(name.substr(number.size())); it != unit.end())
        return Target{"features." + std::to_string(block + 1) + "." + it->second};
  }
  return std::nullopt;
}

torch::Tensor conv_kernel(const torch::Tensor& hwio) { return hwio.permute({3, 2, 0, 1}).contiguous(); }

torch::Tensor depthwise_kernel(const torch::Tensor& hwcm) {
  // (kh, kw, C, multiplier) -> (C * multiplier, 1, kh, kw): output channel c * m + j, as groups=C.
  return hwcm.permute({2, 3, 0, 1}).reshape({hwcm.size(2) * hwcm.size(3), 1, hwcm.size(0), hwcm.size(1)}).contiguous();
}

}  // namespace

std::string guess_keras_arch(const std::vector<KerasLayer>& layers) {
  for (const auto& layer : layers) {
    if (layer.name == "block14_sepconv2" || layer.name == "block2_sepconv1") return "xception";
    if (layer.name == "conv5_block3_3_conv" || layer.name == "res5c_branch2c" || layer.name == "conv1_conv")
      return "resnet50";
    if (layer.name == "block_16_project" || layer.name == "expanded_conv_project" || layer.name == "bn_Conv1")
      return "mobilenetv2";
  }
  return "";
}

namespace {

KerasImport convert_layers(const std::vector<KerasLayer>& layers, const std::string& arch_in, const std::string& origin) {
  KerasImport result;
  result.arch = arch_in.empty() ? guess_keras_arch(layers) : arch_in;
  std::optional<Target> (*target_of)(const std::string&, const LayerWeights&) = nullptr;
  if (result.arch == "xception") {
    target_of = xception_target;
    result.mean = result.std = {0.5f, 0.5f, 0.5f};
  } else if (result.arch == "resnet50") {
    target_of = resnet50_target;
    // Keras ResNet50 takes caffe-style BGR input minus the ImageNet mean, unscaled; the first
    // kernel is flipped to RGB below, leaving mean [123.68, 116.779, 103.939] / 255, std 1 / 255.
    result.mean = {123.68f / 255.f, 116.779f / 255.f, 103.939f / 255.f};
    result.std = {1.f / 255.f, 1.f / 255.f, 1.f / 255.f};
    result.notes.push_back("first convolution flipped from BGR to RGB input");
    result.notes.push_back("Keras puts the stride of each downsampling block on its 1x1 convolution, "
                           "torchvision on the 3x3: outputs differ slightly from Keras");
  } else if (result.arch == "mobilenetv2") {
    target_of = mobilenetv2_target;
    result.mean = result.std = {0.5f, 0.5f, 0.5f};
  } else {
    throw_bad_data(origin + ": cannot tell which network these Keras layers belong to" +
                   (result.arch.empty() ? std::string() : " ('" + result.arch + "' has no Keras mapping)") +
                   "; satx maps Keras Xception, ResNet50 and MobileNetV2");
  }

  std::vector<std::string> unmapped;
  std::set<std::string> written;
  std::map<std::string, torch::Tensor> pending_bias;  // BatchNorm prefix -> conv bias to fold
  auto emit = [&](const std::string& name, torch::Tensor tensor) {
    if (!written.insert(name).second) throw_bad_data(origin + ": two Keras layers map to '" + name + "'");
    result.tensors.emplace_back(name, std::move(tensor));
  };

  for (const auto& layer : layers) {
    if (layer.weights.empty()) continue;
    const LayerWeights w = collect(layer, origin);
    const auto target = target_of(layer.name, w);
    if (!target) {
      unmapped.push_back(layer.name);
      continue;
    }
    const std::string& p = target->prefix;
    const std::string where = origin + ": layer '" + layer.name + "'";
    if (w.is_batchnorm()) {
      if (!w.mean.defined() || !w.variance.defined()) throw_bad_data(where + " lacks moving mean or variance");
      for (const auto* part : {&w.gamma, &w.beta, &w.mean, &w.variance})
        if (part->defined() && (part->dim() != 1 || part->numel() != w.mean.numel()))
          throw_bad_data(where + " has BatchNorm weights that are not vectors of one length");
      const int64_t c = w.mean.numel();
      emit(p + ".weight", w.gamma.defined() ? w.gamma : torch::ones({c}));
      emit(p + ".bias", w.beta.defined() ? w.beta : torch::zeros({c}));
      emit(p + ".running_mean", w.mean);
      // y = (x - m) / sqrt(v + eps): shifting v by the eps difference keeps y exact in PyTorch.
      emit(p + ".running_var", w.variance + (target->keras_eps - kTorchEps));
    } else if (w.depthwise.defined() && w.bias.defined()) {
      throw_bad_data(where + " has a bias, which satx's depthwise convolutions do not");
    } else if (w.depthwise.defined() && w.pointwise.defined()) {
      if (w.depthwise.dim() != 4 || w.pointwise.dim() != 4)
        throw_bad_data(where + " has a separable convolution whose kernels are not 4-D");
      emit(p + ".conv1.weight", depthwise_kernel(w.depthwise));
      emit(p + ".pointwise.weight", conv_kernel(w.pointwise));
    } else if (w.depthwise.defined()) {
      if (w.depthwise.dim() != 4) throw_bad_data(where + " has a depthwise kernel that is not 4-D");
      emit(p + ".weight", depthwise_kernel(w.depthwise));
    } else if (w.kernel.defined() && w.kernel.dim() == 4) {
      torch::Tensor kernel = conv_kernel(w.kernel);
      if (result.arch == "resnet50" && p == "conv1") kernel = kernel.flip({1}).contiguous();  // BGR -> RGB
      emit(p + ".weight", kernel);
      if (w.bias.defined() && !target->bias_into_batchnorm.empty()) pending_bias[target->bias_into_batchnorm] = w.bias;
      else if (w.bias.defined()) emit(p + ".bias", w.bias);
    } else if (w.kernel.defined() && w.kernel.dim() == 2) {
      emit(p + ".weight", w.kernel.t().contiguous());
      if (w.bias.defined()) emit(p + ".bias", w.bias);
    } else {
      throw_bad_data(where + " has weights satx cannot interpret");
    }
  }
  if (!unmapped.empty()) {
    std::string names;
    for (size_t i = 0; i < unmapped.size() && i < 10; ++i) names += (i ? ", " : "") + unmapped[i];
    throw_bad_data(origin + ": " + std::to_string(unmapped.size()) + " Keras layers have no " + result.arch +
                   " counterpart: " + names);
  }
  // A conv bias followed by BatchNorm is a shift of the BatchNorm's input: fold it into the mean.
  for (const auto& [batchnorm, bias] : pending_bias) {
    bool folded = false;
    for (auto& [name, tensor] : result.tensors)
      if (name == batchnorm + ".running_mean" && tensor.sizes() == bias.sizes()) {
        tensor = tensor - bias;
        folded = true;
      }
    if (!folded) throw_bad_data(origin + ": no BatchNorm '" + batchnorm + "' to fold a convolution bias into");
  }
  return result;
}

}  // namespace

KerasImport convert_keras_layers(const std::vector<KerasLayer>& layers, const std::string& arch,
                                 const std::string& origin) {
  try {
    return convert_layers(layers, arch, origin);
  } catch (const c10::Error& error) {
    // A shape no check above foresaw: still a bad file, not a crash.
    throw_bad_data(origin + ": weights of unexpected shape (" + error.what_without_backtrace() + ")");
  }
}

}  // namespace satx::io
