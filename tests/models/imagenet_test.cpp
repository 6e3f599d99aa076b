// Acceptance: the real ImageNet MobileNetV2 in ../shared/weights, imported from .pth and from
// .safetensors (library and CLI), saved as a satx model file, loaded back, and run on the
// sample photos with the preprocessing its manifest entry declares.
#include <fstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "satx/models/model_file.hpp"
#include "satx/io/weights.hpp"
#include "satx/models/weights.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using satx::testing::TempDir;

namespace {

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// 224x224 INTER_AREA, RGB, normalized with the model file's own mean/std.
torch::Tensor preprocess(const fs::path& image, const satx::models::ModelMetadata& metadata) {
  cv::Mat bgr = cv::imread(image.string(), cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty()) << image;
  cv::Mat resized, rgb;
  cv::resize(bgr, resized, cv::Size(metadata.input_size, metadata.input_size), 0, 0, cv::INTER_AREA);
  cv::cvtColor(resized, rgb, cv::COLOR_BGR2RGB);
  auto tensor = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).permute({2, 0, 1}).to(torch::kFloat) / 255.0;
  auto mean = torch::tensor(metadata.mean).view({3, 1, 1});
  auto std = torch::tensor(metadata.std).view({3, 1, 1});
  return ((tensor - mean) / std).unsqueeze(0).contiguous();
}

struct Prediction {
  std::string label;
  float probability;
};

std::vector<Prediction> classify(const fs::path& model_file, const fs::path& samples) {
  auto model = satx::models::load_model_file(model_file);
  torch::NoGradGuard no_grad;
  std::vector<Prediction> out;
  for (const char* name : {"cat.bmp", "cat_720p.jpg", "bird.bmp"}) {
    const auto probabilities = torch::softmax(model.network->forward(preprocess(samples / name, model.metadata)), 1)[0];
    const int64_t top = probabilities.argmax().item<int64_t>();
    out.push_back({model.metadata.classes.at(top), probabilities[top].item<float>()});
  }
  return out;
}

void expect_imagenet_answers(const std::vector<Prediction>& predictions) {
  ASSERT_EQ(predictions.size(), 3u);
  EXPECT_EQ(predictions[0].label, "Egyptian cat");
  EXPECT_EQ(predictions[1].label, "Egyptian cat");
  EXPECT_EQ(predictions[2].label, "chickadee");
  // ../shared/weights/README.md: p = 0.466, 0.429, 0.754 with torchvision's symmetric padding.
  EXPECT_NEAR(predictions[0].probability, 0.466, 0.01);
  EXPECT_NEAR(predictions[1].probability, 0.429, 0.01);
  EXPECT_NEAR(predictions[2].probability, 0.754, 0.01);
}

class ImageNet : public ::testing::Test {
 protected:
  void SetUp() override {
    auto shared = satx::testing::shared_dir();
    if (!shared || !fs::exists(*shared / "weights" / "mobilenet_v2_imagenet.pth"))
      GTEST_SKIP() << "../shared/weights is absent";
    weights_ = *shared / "weights";
  }
  void import_and_check(const std::string& file) {
    satx::models::ImportWeightsOptions options;
    options.arch = "mobilenetv2";
    options.weights = weights_ / file;
    options.classes = read_lines(weights_ / "imagenet_labels.txt");
    const auto imported = satx::models::import_weights(options);
    // The manifest entry of this file declares [-1, 1] inputs, not the ImageNet statistics.
    EXPECT_EQ(imported.metadata.mean, (std::vector<float>{0.5f, 0.5f, 0.5f}));
    EXPECT_EQ(imported.metadata.std, (std::vector<float>{0.5f, 0.5f, 0.5f}));
    ASSERT_TRUE(imported.identified.has_value());
    EXPECT_EQ(imported.identified->file->name, file);
    TempDir dir;
    satx::models::save_model_file(dir / "imagenet.safetensors", *imported.network, imported.metadata);
    expect_imagenet_answers(classify(dir / "imagenet.safetensors", weights_ / "samples"));
  }
  fs::path weights_;
};

}  // namespace

TEST_F(ImageNet, ClassifiesSamplesFromThePthWeights) { import_and_check("mobilenet_v2_imagenet.pth"); }

TEST_F(ImageNet, ClassifiesSamplesFromTheSafetensorsWeights) { import_and_check("mobilenet_v2_imagenet.safetensors"); }

TEST_F(ImageNet, CliImportWritesAModelFileThatClassifies) {
  TempDir dir;
  const fs::path out = dir / "x.safetensors";
  const auto result = satx::testing::run_satx("weights import -arch=mobilenetv2 -weights='" +
                                              (weights_ / "mobilenet_v2_imagenet.pth").string() + "' -labels='" +
                                              (weights_ / "imagenet_labels.txt").string() + "' -out='" + out.string() + "'");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, out.string() + "\n");
  EXPECT_NE(result.err.find("mobilenet_v2_imagenet.pth"), std::string::npos) << result.err;
  expect_imagenet_answers(classify(out, weights_ / "samples"));

  const auto info = satx::testing::run_satx("info '" + out.string() + "'");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("mobilenetv2"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("1000: tench"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("3504872 parameters"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("mean [0.5, 0.5, 0.5]"), std::string::npos) << info.out;
}
