// satx export to ONNX: the graph computes what the network computes (checked by an evaluator
// of the ONNX operator definitions, and by onnxruntime where it is installed), names its
// weights as the state dict does, and carries the preprocessing in its metadata.
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/deploy/onnx_export.hpp"
#include "satx/models/network.hpp"
#include "satx/models/registry.hpp"
#include "support/python_support.hpp"
#include "support/test_support.hpp"

using namespace satx;
using namespace satx::testing;
namespace fs = std::filesystem;

namespace {

// A network of `arch` with random weights whose BatchNorm statistics were calibrated on random
// inputs, so activations keep their scale to the logits (a fresh network shrinks them to ~0).
models::LoadedModel random_model(const std::string& arch, int64_t classes, int size, int64_t channels = 3) {
  torch::manual_seed(11);
  models::LoadedModel model;
  model.network = models::create_network(arch, {classes, channels});
  {
    torch::NoGradGuard no_grad;
    model.network->train();
    for (int pass = 0; pass < 3; ++pass) model.network->forward(torch::randn({4, channels, size, size}));
    model.network->eval();
  }
  const models::Manifest& manifest = models::find_manifest(arch);
  model.metadata.arch = manifest.arch;
  for (int64_t i = 0; i < classes; ++i) model.metadata.classes.push_back("class" + std::to_string(i));
  model.metadata.input_size = size;
  model.metadata.in_channels = static_cast<int>(channels);
  model.metadata.mean.assign(static_cast<size_t>(channels), 0.5f);
  model.metadata.std.assign(static_cast<size_t>(channels), 0.25f);
  return model;
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto proto;
  EXPECT_TRUE(proto.ParseFromString(bytes));
  return proto;
}

std::map<std::string, std::string> metadata_of(const onnx::ModelProto& proto) {
  std::map<std::string, std::string> props;
  for (const auto& entry : proto.metadata_props()) props[entry.key()] = entry.value();
  return props;
}

std::vector<int64_t> ints(const onnx::AttributeProto& attribute) {
  return {attribute.ints().begin(), attribute.ints().end()};
}

// Runs `graph` on `input` with LibTorch, each operator as the ONNX specification defines it,
// and returns every value by name.
std::map<std::string, torch::Tensor> evaluate(const onnx::GraphProto& graph, const torch::Tensor& input) {
  std::map<std::string, torch::Tensor> values;
  values[graph.input(0).name()] = input;
  for (const auto& init : graph.initializer()) {
    EXPECT_EQ(init.data_type(), onnx::TensorProto::FLOAT) << init.name();
    std::vector<int64_t> dims(init.dims().begin(), init.dims().end());
    values[init.name()] = torch::from_blob(const_cast<char*>(init.raw_data().data()), dims, torch::kFloat).clone();
  }
  for (const auto& node : graph.node()) {
    std::map<std::string, onnx::AttributeProto> a;
    for (const auto& attribute : node.attribute()) a[attribute.name()] = attribute;
    auto in = [&](int i) { return values.at(node.input(i)); };
    const std::string& op = node.op_type();
    torch::Tensor y;
    if (op == "Conv") {
      const auto pads = ints(a.at("pads"));
      EXPECT_EQ(pads[0], pads[2]);
      EXPECT_EQ(pads[1], pads[3]);
      y = torch::conv2d(in(0), in(1), node.input_size() > 2 ? in(2) : torch::Tensor(), ints(a.at("strides")),
                        {pads[0], pads[1]}, ints(a.at("dilations")), a.at("group").i());
    } else if (op == "BatchNormalization") {
      const auto shape = std::vector<int64_t>{1, -1, 1, 1};
      y = (in(0) - in(3).view(shape)) / torch::sqrt(in(4).view(shape) + a.at("epsilon").f()) * in(1).view(shape) +
          in(2).view(shape);
    } else if (op == "Relu") {
      y = torch::relu(in(0));
    } else if (op == "Clip") {
      y = torch::clamp(in(0), in(1).item<float>(), in(2).item<float>());
    } else if (op == "Add") {
      y = in(0) + in(1);
    } else if (op == "MaxPool") {
      const auto pads = ints(a.at("pads"));
      y = torch::max_pool2d(in(0), ints(a.at("kernel_shape")), ints(a.at("strides")), {pads[0], pads[1]});
    } else if (op == "GlobalAveragePool") {
      y = in(0).mean({2, 3}, /*keepdim=*/true);
    } else if (op == "Flatten") {
      y = in(0).flatten(a.at("axis").i());
    } else if (op == "Gemm") {
      EXPECT_EQ(a.at("transB").i(), 1);
      y = torch::matmul(in(0), in(1).t()) + in(2);
    } else if (op == "Softmax") {
      y = torch::softmax(in(0), a.at("axis").i());
    } else {
      ADD_FAILURE() << "unexpected operator " << op;
      return values;
    }
    values[node.output(0)] = y;
  }
  return values;
}

class ArchExport : public ::testing::TestWithParam<std::pair<std::string, int>> {};

TEST_P(ArchExport, GraphComputesTheNetworksProbabilities) {
  const auto& [arch, size] = GetParam();
  const models::LoadedModel model = random_model(arch, 5, size);
  deploy::OnnxExportSummary summary;
  const onnx::ModelProto proto = parse(deploy::export_onnx_bytes(model, {}, &summary));
  EXPECT_EQ(summary.nodes, proto.graph().node_size());
  EXPECT_EQ(summary.parameters, models::count_parameters(*model.network));
  ASSERT_EQ(proto.opset_import_size(), 1);
  EXPECT_EQ(proto.opset_import(0).version(), 17);

  torch::manual_seed(3);
  const torch::Tensor input = torch::randn({3, 3, size, size});
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    logits = model.network->forward(input);
  }
  ASSERT_GT(logits.std().item<double>(), 1e-3) << "degenerate logits would make the comparison vacuous";
  const auto values = evaluate(proto.graph(), input);
  ASSERT_EQ(proto.graph().output(0).name(), deploy::kOnnxOutputName);
  const torch::Tensor probabilities = values.at(deploy::kOnnxOutputName);
  EXPECT_TRUE(torch::allclose(values.at("logits"), logits, 1e-4, 1e-4))
      << (values.at("logits") - logits).abs().max().item<double>();
  EXPECT_LT((probabilities - torch::softmax(logits, 1)).abs().max().item<double>(), 1e-5);

  // Every parameter and running statistic is in the file under its state-dict name.
  std::set<std::string> expected;
  for (const auto& [name, tensor] : models::state_entries(*model.network))
    if (name.find("num_batches_tracked") == std::string::npos) expected.insert(name);
  std::set<std::string> written;
  for (const auto& init : proto.graph().initializer())
    if (init.name().rfind("relu6.", 0) != 0) written.insert(init.name());
  EXPECT_EQ(written, expected);
}

INSTANTIATE_TEST_SUITE_P(Architectures, ArchExport,
                         ::testing::Values(std::make_pair(std::string("mobilenetv2"), 32),
                                           std::make_pair(std::string("resnet50"), 32),
                                           std::make_pair(std::string("xception"), 48)),
                         [](const auto& info) { return info.param.first; });

TEST(OnnxExport, MetadataCarriesThePreprocessingAndThreshold) {
  models::LoadedModel model = random_model("mobilenetv2", 2, 32);
  model.metadata.classes = {"not-school", "school"};
  model.metadata.threshold = 0.3;
  model.metadata.mean = {0.485f, 0.456f, 0.406f};
  const auto props = metadata_of(parse(deploy::export_onnx_bytes(model)));
  EXPECT_EQ(props.at("satx.arch"), "mobilenetv2");
  EXPECT_EQ(nlohmann::json::parse(props.at("satx.classes")), nlohmann::json({"not-school", "school"}));
  EXPECT_EQ(props.at("satx.input_size"), "32");
  EXPECT_EQ(props.at("satx.layout"), "NCHW");
  EXPECT_EQ(props.at("satx.channel_order"), "RGB");
  EXPECT_NEAR(nlohmann::json::parse(props.at("satx.mean"))[1].get<double>(), 0.456, 1e-6);
  EXPECT_NEAR(nlohmann::json::parse(props.at("satx.std"))[0].get<double>(), 0.25, 1e-6);
  EXPECT_DOUBLE_EQ(std::stod(props.at("satx.threshold")), 0.3);

  const auto multiclass = metadata_of(parse(deploy::export_onnx_bytes(random_model("mobilenetv2", 3, 32))));
  EXPECT_EQ(multiclass.count("satx.threshold"), 0u) << "argmax models have no threshold";
}

TEST(OnnxExport, BatchChannelsAndOpsetShapeTheInput) {
  const models::LoadedModel four_band = random_model("resnet50", 3, 32, 4);
  const onnx::ModelProto proto = parse(deploy::export_onnx_bytes(four_band, {13, 8}));
  EXPECT_EQ(proto.opset_import(0).version(), 13);
  const auto& dims = proto.graph().input(0).type().tensor_type().shape().dim();
  ASSERT_EQ(dims.size(), 4);
  EXPECT_EQ(dims[0].dim_value(), 8);
  EXPECT_EQ(dims[1].dim_value(), 4);
  EXPECT_EQ(dims[2].dim_value(), 32);
  EXPECT_EQ(metadata_of(proto).at("satx.channel_order"), "bands in file order (1..4)");

  const auto symbolic = parse(deploy::export_onnx_bytes(random_model("mobilenetv2", 3, 32)));
  EXPECT_EQ(symbolic.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
  EXPECT_EQ(symbolic.graph().output(0).type().tensor_type().shape().dim(1).dim_value(), 3);
}

TEST(OnnxExport, RejectsOpsetsAndBatchesItCannotWrite) {
  const models::LoadedModel model = random_model("mobilenetv2", 3, 32);
  for (const deploy::OnnxExportOptions bad : {deploy::OnnxExportOptions{12, 0}, deploy::OnnxExportOptions{18, 0},
                                              deploy::OnnxExportOptions{17, -1}}) {
    try {
      deploy::export_onnx_bytes(model, bad);
      ADD_FAILURE() << "opset " << bad.opset << " batch " << bad.batch << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::Usage) << e.what();
    }
  }
}

TEST(OnnxExport, PythonOnnxCheckerAcceptsTheFile) {
  SATX_REQUIRE_PYTHON(python, "onnx");
  TempDir dir;
  deploy::export_onnx(random_model("xception", 2, 48), dir / "model.onnx");
  run_python(python, dir.path(),
             "import onnx, json\n"
             "m = onnx.load('" + (dir / "model.onnx").string() + "')\n"
             "onnx.checker.check_model(m, full_check=True)\n"
             "meta = {p.key: p.value for p in m.metadata_props}\n"
             "assert json.loads(meta['satx.classes']) == ['class0', 'class1'], meta\n"
             "assert m.graph.output[0].name == 'probabilities'\n");
}

}  // namespace
