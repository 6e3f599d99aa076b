#include "satx/deploy/onnx_export.hpp"

#include <limits>

#include <nlohmann/json.hpp>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/pooling.h>

#include "deploy/detail/onnx_graph.hpp"
#include "satx/core/context.hpp"
#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
#include "satx/core/strings.hpp"
#include "satx/core/torch_compat.hpp"
#include "satx/models/mobilenet_v2.hpp"
#include "satx/models/resnet.hpp"
#include "satx/models/xception.hpp"

namespace satx::deploy {

namespace {

using detail::float_attribute;
using detail::int_attribute;
using detail::ints_attribute;
using detail::OnnxGraph;
using torch::nn::Module;

std::vector<int64_t> pair_of(const torch::ExpandingArray<2>& values) { return {values->at(0), values->at(1)}; }

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// Maps satx's module tree onto ONNX nodes. Initializers keep the state-dict names
// ("features.3.conv.1.0.weight"), so the file reads against the published weights' layout,
// and every value is named after the module that produced it.
class Emitter {
 public:
  explicit Emitter(OnnxGraph& graph) : graph_(graph) {}

  std::string conv(const torch::nn::Conv2dImpl& conv, const std::string& prefix, const std::string& x) {
    const auto& o = conv.options;
    const auto padding = compat::conv2d_zero_padding(o);
    if (!padding) throw_runtime("ONNX export: " + prefix + " pads other than with an explicit number of zeros");
    std::vector<std::string> inputs = {x, graph_.initializer(join(prefix, "weight"), conv.weight)};
    if (conv.bias.defined()) inputs.push_back(graph_.initializer(join(prefix, "bias"), conv.bias));
    const std::vector<int64_t> pads = {(*padding)[0], (*padding)[1], (*padding)[0], (*padding)[1]};
    return graph_.node("Conv", inputs, prefix,
                       {ints_attribute("kernel_shape", pair_of(o.kernel_size())), ints_attribute("strides", pair_of(o.stride())),
                        ints_attribute("pads", pads), ints_attribute("dilations", pair_of(o.dilation())),
                        int_attribute("group", o.groups())});
  }

  std::string batch_norm(const torch::nn::BatchNorm2dImpl& norm, const std::string& prefix, const std::string& x) {
    if (!norm.options.affine() || !norm.options.track_running_stats())
      throw_runtime("ONNX export: " + prefix + " is a BatchNorm without affine parameters or running statistics");
    return graph_.node("BatchNormalization",
                       {x, graph_.initializer(join(prefix, "weight"), norm.weight),
                        graph_.initializer(join(prefix, "bias"), norm.bias),
                        graph_.initializer(join(prefix, "running_mean"), norm.running_mean),
                        graph_.initializer(join(prefix, "running_var"), norm.running_var)},
                       prefix, {float_attribute("epsilon", static_cast<float>(norm.options.eps()))});
  }

  std::string relu(const std::string& x, const std::string& hint) { return graph_.node("Relu", {x}, hint); }

  std::string relu6(const std::string& x, const std::string& hint) {
    // Clip takes its bounds as inputs from opset 11 on.
    return graph_.node("Clip", {x, graph_.scalar("relu6.min", 0.0f), graph_.scalar("relu6.max", 6.0f)}, hint);
  }

  std::string add(const std::string& a, const std::string& b, const std::string& hint) {
    return graph_.node("Add", {a, b}, hint);
  }

  std::string max_pool(const torch::nn::MaxPool2dOptions& o, const std::string& x, const std::string& hint) {
    if (o.ceil_mode() || o.dilation()->at(0) != 1 || o.dilation()->at(1) != 1)
      throw_runtime("ONNX export: " + hint + " is a max pool with ceil mode or dilation");
    const auto padding = pair_of(o.padding());
    // PyTorch pads max pooling with -inf, which is what ONNX's pads mean for MaxPool.
    return graph_.node("MaxPool", {x}, hint,
                       {ints_attribute("kernel_shape", pair_of(o.kernel_size())), ints_attribute("strides", pair_of(o.stride())),
                        ints_attribute("pads", {padding[0], padding[1], padding[0], padding[1]})});
  }

  /// Global average pool to [N, C] (detail::global_average_pool).
  std::string pool(const std::string& x) {
    return graph_.node("Flatten", {graph_.node("GlobalAveragePool", {x}, "pool")}, "features", {int_attribute("axis", 1)});
  }

  std::string linear(const torch::nn::LinearImpl& linear, const std::string& prefix, const std::string& x) {
    std::vector<std::string> inputs = {x, graph_.initializer(join(prefix, "weight"), linear.weight)};
    if (linear.bias.defined()) inputs.push_back(graph_.initializer(join(prefix, "bias"), linear.bias));
    return graph_.node("Gemm", inputs, "logits", {int_attribute("transB", 1)});
  }

  /// Any module of satx's three networks, by type.
  std::string module(const Module& m, const std::string& prefix, const std::string& x) {
    if (const auto* conv2d = m.as<torch::nn::Conv2d>()) return conv(*conv2d, prefix, x);
    if (const auto* norm = m.as<torch::nn::BatchNorm2d>()) return batch_norm(*norm, prefix, x);
    if (m.as<torch::nn::ReLU>() != nullptr) return relu(x, prefix);
    if (const auto* pool2d = m.as<torch::nn::MaxPool2d>()) return max_pool(pool2d->options, x, prefix);
    if (m.as<torch::nn::Dropout>() != nullptr) return x;  // identity at inference
    if (const auto* sequential = m.as<torch::nn::Sequential>()) {
      std::string y = x;
      for (const auto& child : sequential->named_children()) y = module(*child.value(), join(prefix, child.key()), y);
      return y;
    }
    if (const auto* unit = m.as<models::ConvNormReLU6>())
      return relu6(batch_norm(*unit->norm, join(prefix, "1"), conv(*unit->conv, join(prefix, "0"), x)), join(prefix, "2"));
    if (const auto* block = m.as<models::InvertedResidual>()) {
      const std::string y = module(*block->conv, join(prefix, "conv"), x);
      return block->residual() ? add(y, x, join(prefix, "add")) : y;
    }
    if (const auto* block = m.as<models::Bottleneck>()) {
      std::string y = relu(batch_norm(*block->bn1, join(prefix, "bn1"), conv(*block->conv1, join(prefix, "conv1"), x)),
                           join(prefix, "relu1"));
      y = relu(batch_norm(*block->bn2, join(prefix, "bn2"), conv(*block->conv2, join(prefix, "conv2"), y)),
               join(prefix, "relu2"));
      y = batch_norm(*block->bn3, join(prefix, "bn3"), conv(*block->conv3, join(prefix, "conv3"), y));
      const std::string shortcut = block->downsample ? module(*block->downsample, join(prefix, "downsample"), x) : x;
      return relu(add(y, shortcut, join(prefix, "add")), join(prefix, "relu"));
    }
    if (const auto* separable = m.as<models::SeparableConv2d>())
      return conv(*separable->pointwise, join(prefix, "pointwise"), conv(*separable->conv1, join(prefix, "conv1"), x));
    if (const auto* block = m.as<models::XceptionBlock>()) {
      const std::string y = module(*block->rep, join(prefix, "rep"), x);
      const std::string shortcut =
          block->skip ? batch_norm(*block->skipbn, join(prefix, "skipbn"), conv(*block->skip, join(prefix, "skip"), x)) : x;
      return add(y, shortcut, join(prefix, "add"));
    }
    throw_runtime("ONNX export: no ONNX mapping for the module " + (prefix.empty() ? m.name() : prefix) + " (" +
                  m.name() + ")");
  }

  /// The whole network to logits, by architecture.
  std::string network(const models::Network& net, const std::string& x) {
    if (const auto* mobilenet = dynamic_cast<const models::MobileNetV2*>(&net))
      return linear(*mobilenet->head, "classifier.1", pool(module(*mobilenet->features, "features", x)));
    if (const auto* resnet = dynamic_cast<const models::ResNet50*>(&net)) {
      std::string y = relu(batch_norm(*resnet->bn1, "bn1", conv(*resnet->conv1, "conv1", x)), "relu");
      y = max_pool(torch::nn::MaxPool2dOptions(3).stride(2).padding(1), y, "maxpool");
      const std::pair<const char*, const torch::nn::Sequential*> layers[] = {
          {"layer1", &resnet->layer1}, {"layer2", &resnet->layer2}, {"layer3", &resnet->layer3}, {"layer4", &resnet->layer4}};
      for (const auto& [name, layer] : layers) y = module(**layer, name, y);
      return linear(*resnet->fc, "fc", pool(y));
    }
    if (const auto* xception = dynamic_cast<const models::Xception*>(&net)) {
      std::string y = relu(batch_norm(*xception->bn1, "bn1", conv(*xception->conv1, "conv1", x)), "act1");
      y = relu(batch_norm(*xception->bn2, "bn2", conv(*xception->conv2, "conv2", y)), "act2");
      for (size_t i = 0; i < xception->blocks.size(); ++i)
        y = module(*xception->blocks[i], "block" + std::to_string(i + 1), y);
      y = relu(batch_norm(*xception->bn3, "bn3", module(*xception->conv3, "conv3", y)), "act3");
      y = relu(batch_norm(*xception->bn4, "bn4", module(*xception->conv4, "conv4", y)), "act4");
      return linear(*xception->fc, "fc", pool(y));
    }
    throw_runtime("ONNX export: no ONNX mapping for the architecture " + net.manifest().arch);
  }

 private:
  OnnxGraph& graph_;
};

std::string channel_order(int channels) {
  if (channels == 3) return "RGB";
  if (channels == 1) return "gray";
  return "bands in file order (1.." + std::to_string(channels) + ")";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> onnx_metadata(const models::ModelMetadata& metadata) {
  std::vector<std::pair<std::string, std::string>> props = {
      {"satx.arch", metadata.arch},
      {"satx.classes", nlohmann::json(metadata.classes).dump()},
      {"satx.input_size", std::to_string(metadata.input_size)},
      {"satx.layout", "NCHW"},
      {"satx.channel_order", channel_order(metadata.in_channels)},
      {"satx.mean", nlohmann::json(metadata.mean).dump()},
      {"satx.std", nlohmann::json(metadata.std).dump()},
      {"satx.preprocess",
       "x = (pixel / 255 - mean) / std per channel on 8-bit pixels; a tile larger than input_size is first "
       "shrunk to input_size x input_size (OpenCV INTER_AREA), a smaller one enlarged after normalizing "
       "(bilinear, half-pixel centres, no antialiasing)"},
  };
  if (metadata.threshold) {
    props.emplace_back("satx.threshold", nlohmann::json(*metadata.threshold).dump());
    props.emplace_back("satx.threshold_rule", "label = classes[1] when probabilities[1] >= threshold, else classes[0]");
  }
  props.emplace_back("satx.model_version", metadata.satx_version);
  props.emplace_back("satx.training", metadata.training.dump());
  return props;
}

std::string export_onnx_bytes(const models::LoadedModel& model, const OnnxExportOptions& options,
                              OnnxExportSummary* summary) {
  if (options.opset < 13 || options.opset > 17)
    throw_option("opset", "must lie in 13..17 (13: Softmax over one axis; 17: the newest this build's onnx checks), got " +
                              std::to_string(options.opset));
  if (options.batch < 0) throw_option("batch", "must be 0 (any batch size) or positive, got " + std::to_string(options.batch));
  if (!model.network) throw_usage("ONNX export: the model holds no network");
  const models::ModelMetadata& metadata = model.metadata;
  const auto classes = static_cast<int64_t>(metadata.classes.size());
  if (classes != model.network->num_classes())
    throw_bad_data("ONNX export: the metadata names " + std::to_string(classes) + " classes, the network has " +
                   std::to_string(model.network->num_classes()));

  onnx::ModelProto proto;
  proto.set_ir_version(onnx::IR_VERSION);
  proto.set_producer_name("satx");
  proto.set_producer_version(satx::version());
  proto.set_domain("org.satx");
  proto.set_doc_string(metadata.arch + " tile classifier exported by satx: " + kOnnxInputName +
                       " (normalized NCHW float32) -> " + kOnnxOutputName + " (softmax over the classes)");
  onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  for (const auto& [key, value] : onnx_metadata(metadata)) {
    onnx::StringStringEntryProto* entry = proto.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }

  onnx::GraphProto* graph_proto = proto.mutable_graph();
  graph_proto->set_name(metadata.arch);
  OnnxGraph graph(*graph_proto);
  const int64_t batch = options.batch > 0 ? options.batch : -1;
  const int64_t size = metadata.input_size;
  graph.input(kOnnxInputName, {batch, model.network->in_channels(), size, size});
  {
    torch::NoGradGuard no_grad;
    Emitter emitter(graph);
    const std::string logits = emitter.network(*model.network, kOnnxInputName);
    graph.node("Softmax", {logits}, kOnnxOutputName, {int_attribute("axis", 1)});
  }
  graph.output(kOnnxOutputName, {batch, classes});

  try {
    onnx::checker::check_model(proto);
    // Strict inference throws when a node's inferred shape contradicts the declared
    // [batch, classes] output; the intermediate shapes it records are not kept.
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
    graph_proto->clear_value_info();
  } catch (const std::exception& e) {
    throw_runtime(std::string("ONNX export: onnx rejected the graph: ") + e.what());
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes) || bytes.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw_runtime("ONNX export: the model does not fit one protobuf message (2 GiB)");

  if (summary != nullptr) {
    summary->opset = options.opset;
    summary->nodes = graph_proto->node_size();
    summary->initializers = graph_proto->initializer_size();
    summary->parameters = 0;
    for (const auto& tensor : graph_proto->initializer()) {
      const std::string& name = tensor.name();
      if (ends_with(name, ".running_mean") || ends_with(name, ".running_var") || starts_with(name, "relu6.")) continue;
      int64_t count = 1;
      for (int64_t dim : tensor.dims()) count *= dim;
      summary->parameters += count;
    }
    summary->bytes = bytes.size();
  }
  return bytes;
}

OnnxExportSummary export_onnx(const models::LoadedModel& model, const std::filesystem::path& path,
                              const OnnxExportOptions& options) {
  OnnxExportSummary summary;
  const std::string bytes = export_onnx_bytes(model, options, &summary);
  write_file_atomic(path, bytes);
  return summary;
}

}  // namespace satx::deploy
