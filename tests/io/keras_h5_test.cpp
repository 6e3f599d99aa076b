#include <map>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/python_support.hpp"
#include "satx/core/error.hpp"
#include "satx/io/keras_h5.hpp"
#include "satx/io/weights.hpp"
#include "satx/models/weights.hpp"
#include "satx/models/network.hpp"

namespace fs = std::filesystem;
using satx::testing::TempDir;

namespace {

// Writes Keras-Applications-layout weight files with h5py: layer names, weight names, shapes
// and layer order as keras.applications builds them, every tensor random and distinct.
// argv: <out.h5> <arch>.
const char* kKerasWriter = R"PY(
import sys
import h5py, numpy as np
out, arch = sys.argv[1], sys.argv[2]
rng = np.random.RandomState(5)
layers = []
def conv(name, k, cin, cout, bias=False):
    w = [(name + "/kernel:0", (k, k, cin, cout))]
    if bias: w.append((name + "/bias:0", (cout,)))
    layers.append((name, w))
def bn(name, c):
    layers.append((name, [(name + "/" + r + ":0", (c,)) for r in ("gamma", "beta", "moving_mean", "moving_variance")]))
def sep(name, cin, cout):
    layers.append((name, [(name + "/depthwise_kernel:0", (3, 3, cin, 1)), (name + "/pointwise_kernel:0", (1, 1, cin, cout))]))
def dw(name, c):
    layers.append((name, [(name + "/depthwise_kernel:0", (3, 3, c, 1))]))
def dense(name, cin, cout):
    layers.append((name, [(name + "/kernel:0", (cin, cout)), (name + "/bias:0", (cout,))]))
def act(name):
    layers.append((name, []))

if arch == "xception":
    conv("block1_conv1", 3, 3, 32); bn("block1_conv1_bn", 32); act("block1_conv1_act")
    conv("block1_conv2", 3, 32, 64); bn("block1_conv2_bn", 64); act("block1_conv2_act")
    residual = 0
    def res(cin, cout):
        global residual
        conv("conv2d" + ("_%d" % residual if residual else ""), 1, cin, cout)
        bn("batch_normalization" + ("_%d" % residual if residual else ""), cout)
        residual += 1
    res(64, 128); sep("block2_sepconv1", 64, 128); bn("block2_sepconv1_bn", 128); act("block2_sepconv2_act")
    sep("block2_sepconv2", 128, 128); bn("block2_sepconv2_bn", 128); act("block2_pool")
    for block, cin, cout in ((3, 128, 256), (4, 256, 728)):
        res(cin, cout)
        act("block%d_sepconv1_act" % block); sep("block%d_sepconv1" % block, cin, cout); bn("block%d_sepconv1_bn" % block, cout)
        act("block%d_sepconv2_act" % block); sep("block%d_sepconv2" % block, cout, cout); bn("block%d_sepconv2_bn" % block, cout)
    for block in range(5, 13):
        for j in (1, 2, 3):
            act("block%d_sepconv%d_act" % (block, j)); sep("block%d_sepconv%d" % (block, j), 728, 728)
            bn("block%d_sepconv%d_bn" % (block, j), 728)
    res(728, 1024)
    sep("block13_sepconv1", 728, 728); bn("block13_sepconv1_bn", 728)
    sep("block13_sepconv2", 728, 1024); bn("block13_sepconv2_bn", 1024)
    sep("block14_sepconv1", 1024, 1536); bn("block14_sepconv1_bn", 1536)
    sep("block14_sepconv2", 1536, 2048); bn("block14_sepconv2_bn", 2048); act("avg_pool")
    dense("predictions", 2048, 1000)
elif arch == "resnet50":
    conv("conv1_conv", 7, 3, 64, bias=True); bn("conv1_bn", 64); act("pool1_pool")
    cin = 64
    for stage, width, blocks in ((2, 64, 3), (3, 128, 4), (4, 256, 6), (5, 512, 3)):
        for b in range(1, blocks + 1):
            p = "conv%d_block%d_" % (stage, b)
            conv(p + "1_conv", 1, cin, width, True); bn(p + "1_bn", width)
            conv(p + "2_conv", 3, width, width, True); bn(p + "2_bn", width)
            conv(p + "3_conv", 1, width, 4 * width, True); bn(p + "3_bn", 4 * width)
            if b == 1:
                conv(p + "0_conv", 1, cin, 4 * width, True); bn(p + "0_bn", 4 * width)
            act(p + "out")
            cin = 4 * width
    dense("predictions", 2048, 1000)
elif arch == "mobilenetv2":
    conv("Conv1", 3, 3, 32); bn("bn_Conv1", 32); act("Conv1_relu")
    dw("expanded_conv_depthwise", 32); bn("expanded_conv_depthwise_BN", 32)
    conv("expanded_conv_project", 1, 32, 16); bn("expanded_conv_project_BN", 16)
    cin, block = 16, 1
    for t, c, n, s in ((6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            p = "block_%d_" % block
            conv(p + "expand", 1, cin, cin * t); bn(p + "expand_BN", cin * t)
            dw(p + "depthwise", cin * t); bn(p + "depthwise_BN", cin * t)
            conv(p + "project", 1, cin * t, c); bn(p + "project_BN", c)
            cin, block = c, block + 1
    conv("Conv_1", 1, 320, 1280); bn("Conv_1_bn", 1280); act("out_relu")
    dense("Logits", 1280, 1000)

with h5py.File(out, "w") as f:
    f.attrs["layer_names"] = np.array([n.encode() for n, _ in layers])
    f.attrs["backend"] = b"tensorflow"
    f.attrs["keras_version"] = b"2.11.0"
    for name, weights in layers:
        g = f.create_group(name)
        g.attrs["weight_names"] = np.array([w.encode() for w, _ in weights]) if weights else np.asarray([])
        for wname, shape in weights:
            data = rng.standard_normal(shape).astype(np.float32)
            if "moving_variance" in wname: data = np.abs(data) + 0.5
            g.create_dataset(wname, data=data)
)PY";

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The network's state dict grouped by module, in order, without BatchNorm counters.
std::vector<std::pair<std::string, std::map<std::string, torch::Tensor>>> modules_of(satx::models::Network& network) {
  std::vector<std::pair<std::string, std::map<std::string, torch::Tensor>>> groups;
  for (const auto& [name, tensor] : satx::models::state_entries(network)) {
    if (ends_with(name, "num_batches_tracked")) continue;
    const auto dot = name.rfind('.');
    const std::string module = name.substr(0, dot);
    if (groups.empty() || groups.back().first != module) groups.emplace_back(module, std::map<std::string, torch::Tensor>{});
    groups.back().second[name.substr(dot + 1)] = tensor;
  }
  return groups;
}

// Imports the Keras file into `arch` and checks, pairing Keras layers with the network's
// modules purely by order (both follow the architecture's data flow), that every tensor
// landed with the right layout: value at [o, i, h, w] equals keras[h, w, i, o] and so on.
void check_import(const std::string& python, const std::string& arch, double keras_eps) {
  TempDir dir;
  satx::testing::write_text(dir / "writer.py", kKerasWriter);
  const fs::path file = dir / (arch + ".h5");
  const auto written = satx::testing::run_shell(python + " '" + (dir / "writer.py").string() + "' '" + file.string() + "' " + arch);
  ASSERT_EQ(written.exit_code, 0) << written.err;

  const auto imported = satx::io::read_keras_h5(file);  // arch guessed from the layer names
  EXPECT_EQ(imported.arch, arch);
  auto network = satx::models::create_network(arch);
  // Every network entry filled, nothing left over, every shape right (strict load).
  satx::models::LoadWeightsOptions strict;
  strict.origin = file.string();
  ASSERT_NO_THROW(satx::models::load_weights_into(*network, imported.tensors, strict));

  const auto keras = satx::io::read_keras_layers(file);
  const auto modules = modules_of(*network);
  size_t next = 0;
  torch::Tensor pending_bias;
  size_t checked = 0;
  for (const auto& layer : keras) {
    if (layer.weights.empty()) continue;
    std::map<std::string, torch::Tensor> w;
    for (const auto& [name, tensor] : layer.weights) w[name.substr(name.find('/') + 1)] = tensor;
    ASSERT_LT(next, modules.size()) << layer.name;
    const auto& [module, t] = modules[next++];
    SCOPED_TRACE(layer.name + " -> " + module);
    if (w.count("moving_mean:0")) {
      EXPECT_TRUE(torch::equal(t.at("weight"), w["gamma:0"]));
      EXPECT_TRUE(torch::equal(t.at("bias"), w["beta:0"]));
      auto mean = w["moving_mean:0"];
      if (pending_bias.defined()) mean = mean - pending_bias;
      EXPECT_TRUE(torch::allclose(t.at("running_mean"), mean, 0, 1e-6));
      EXPECT_TRUE(torch::allclose(t.at("running_var"), w["moving_variance:0"] + (keras_eps - 1e-5), 0, 1e-6));
      pending_bias = torch::Tensor();
    } else if (w.count("pointwise_kernel:0")) {
      EXPECT_TRUE(torch::equal(t.at("weight"), w["depthwise_kernel:0"].permute({2, 3, 0, 1})));
      ASSERT_LT(next, modules.size());
      const auto& pointwise = modules[next++];
      EXPECT_TRUE(ends_with(pointwise.first, ".pointwise"));
      EXPECT_TRUE(torch::equal(pointwise.second.at("weight"), w["pointwise_kernel:0"].permute({3, 2, 0, 1})));
    } else if (w.count("depthwise_kernel:0")) {
      EXPECT_TRUE(torch::equal(t.at("weight"), w["depthwise_kernel:0"].permute({2, 3, 0, 1})));
    } else if (w["kernel:0"].dim() == 4) {
      auto kernel = w["kernel:0"].permute({3, 2, 0, 1});
      if (arch == "resnet50" && next == 1) kernel = kernel.flip({1});  // Keras ResNet50 reads BGR
      EXPECT_TRUE(torch::equal(t.at("weight"), kernel));
      if (w.count("bias:0")) {
        ASSERT_EQ(t.count("bias"), 0u);  // torchvision convs have none: it moves into the BatchNorm
        pending_bias = w["bias:0"];
      }
    } else {
      EXPECT_TRUE(torch::equal(t.at("weight"), w["kernel:0"].t()));
      EXPECT_TRUE(torch::equal(t.at("bias"), w["bias:0"]));
    }
    ++checked;
  }
  EXPECT_EQ(next, modules.size());
  EXPECT_GT(checked, 50u);
}

}  // namespace

TEST(KerasH5, ImportsXceptionIntoTheTimmLayout) {
  if (!satx::io::keras_h5_available()) GTEST_SKIP() << "built without HDF5";
  SATX_REQUIRE_PYTHON(python, "h5py, numpy");
  check_import(python, "xception", 1e-3);
}

TEST(KerasH5, ImportsMobileNetV2IntoTheTorchvisionLayout) {
  if (!satx::io::keras_h5_available()) GTEST_SKIP() << "built without HDF5";
  SATX_REQUIRE_PYTHON(python, "h5py, numpy");
  check_import(python, "mobilenetv2", 1e-3);
}

TEST(KerasH5, ImportsResNet50FoldingConvBiasesIntoBatchNorm) {
  if (!satx::io::keras_h5_available()) GTEST_SKIP() << "built without HDF5";
  SATX_REQUIRE_PYTHON(python, "h5py, numpy");
  check_import(python, "resnet50", 1.001e-5);
}

TEST(KerasH5, RefusesFilesThatAreNotKerasWeights) {
  if (!satx::io::keras_h5_available()) GTEST_SKIP() << "built without HDF5";
  SATX_REQUIRE_PYTHON(python, "h5py, numpy");
  TempDir dir;
  const auto made = satx::testing::run_shell(
      python + " -c 'import h5py; h5py.File(\"" + (dir / "plain.h5").string() + "\", \"w\").create_dataset(\"x\", data=[1.0])'");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  try {
    satx::io::read_keras_h5(dir / "plain.h5");
    FAIL() << "expected BadData";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(e.what()).find("layer_names"), std::string::npos) << e.what();
  }
  satx::testing::write_text(dir / "text.h5", "not hdf5 at all");
  EXPECT_THROW(satx::io::read_keras_h5(dir / "text.h5"), satx::Error);
}

TEST(KerasConvert, MapsKeras2ResNet50NamesAndFlipsTheFirstKernelToRgb) {
  // keras 2.0-2.2 resnet50.py naming, BatchNorm eps 1e-3.
  const auto t = [](std::vector<int64_t> shape, float start) {
    return torch::arange(start, start + c10::multiply_integers(shape), torch::kFloat).reshape(shape);
  };
  std::vector<satx::io::KerasLayer> layers = {
      {"conv1", {{"conv1/kernel:0", t({7, 7, 3, 64}, 0)}, {"conv1/bias:0", t({64}, 1)}}},
      {"bn_conv1",
       {{"bn_conv1/gamma:0", t({64}, 0)}, {"bn_conv1/beta:0", t({64}, 0)}, {"bn_conv1/moving_mean:0", t({64}, 10)},
        {"bn_conv1/moving_variance:0", t({64}, 1)}}},
      {"res2a_branch1", {{"res2a_branch1/kernel:0", t({1, 1, 64, 256}, 0)}, {"res2a_branch1/bias:0", t({256}, 0)}}},
      {"bn2a_branch1",
       {{"bn2a_branch1/gamma:0", t({256}, 0)}, {"bn2a_branch1/beta:0", t({256}, 0)},
        {"bn2a_branch1/moving_mean:0", t({256}, 0)}, {"bn2a_branch1/moving_variance:0", t({256}, 1)}}},
      {"res3b_branch2c", {{"res3b_branch2c_W:0", t({1, 1, 128, 512}, 0)}}},  // Keras 1 weight naming
      {"fc1000", {{"fc1000/kernel:0", t({2048, 1000}, 0)}, {"fc1000/bias:0", t({1000}, 0)}}},
  };
  const auto imported = satx::io::convert_keras_layers(layers, "resnet50", "test");
  std::map<std::string, torch::Tensor> by_name(imported.tensors.begin(), imported.tensors.end());
  EXPECT_TRUE(by_name.count("layer1.0.downsample.0.weight"));
  EXPECT_TRUE(by_name.count("layer1.0.downsample.1.running_var"));
  EXPECT_TRUE(by_name.count("layer2.1.conv3.weight"));
  EXPECT_EQ(by_name.at("fc.weight").sizes(), (std::vector<int64_t>{1000, 2048}));
  // RGB channel 0 of the imported kernel is Keras's channel 2 (blue).
  EXPECT_TRUE(torch::equal(by_name.at("conv1.weight").select(1, 0), layers[0].weights[0].second.select(2, 2).permute({2, 0, 1})));
  // bias folded: running_mean = keras mean - conv bias = 10 + i - (1 + i) = 9.
  EXPECT_TRUE(torch::allclose(by_name.at("bn1.running_mean"), torch::full({64}, 9.0f)));
  EXPECT_TRUE(torch::allclose(by_name.at("bn1.running_var"), layers[1].weights[3].second + (1e-3 - 1e-5)));
  EXPECT_NEAR(imported.std[0], 1.0 / 255.0, 1e-7);
}

TEST(KerasConvert, RefusesLayersWithoutACounterpart) {
  std::vector<satx::io::KerasLayer> layers = {
      {"block1_conv1", {{"block1_conv1/kernel:0", torch::zeros({3, 3, 3, 32})}}},
      {"mystery_dense", {{"mystery_dense/kernel:0", torch::zeros({4, 5})}}},
  };
  try {
    satx::io::convert_keras_layers(layers, "xception", "test.h5");
    FAIL() << "expected BadData";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(e.what()).find("mystery_dense"), std::string::npos) << e.what();
  }
  EXPECT_THROW(satx::io::convert_keras_layers({{"x", {{"x/kernel:0", torch::zeros({2, 2})}}}}, "", "test.h5"), satx::Error);
}
