#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/core/context.hpp"
#include "satx/core/error.hpp"
#include "satx/models/model_file.hpp"
#include "satx/io/safetensors.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using satx::testing::TempDir;

namespace {

satx::models::ModelMetadata metadata_for(const std::string& arch, std::vector<std::string> classes) {
  satx::models::ModelMetadata m;
  m.arch = arch;
  m.classes = std::move(classes);
  m.input_size = 96;
  m.in_channels = 3;
  m.mean = {0.4f, 0.5f, 0.6f};
  m.std = {0.2f, 0.25f, 0.3f};
  m.training = {{"epochs", 7}, {"best", {{"val_accuracy", 0.93}}}, {"train", "data/train"}, {"seed", 42}};
  return m;
}

satx::ErrorCode error_of(const std::function<void()>& body, std::string* message) {
  try {
    body();
  } catch (const satx::Error& e) {
    *message = e.what();
    return e.code();
  }
  return satx::ErrorCode::Ok;
}

}  // namespace

TEST(ModelFile, RoundTripsTensorsMetadataAndOutputs) {
  TempDir dir;
  torch::manual_seed(11);
  auto network = satx::models::create_network("mobilenetv2", {3, 3});
  network->eval();
  auto metadata = metadata_for("mobilenetv2", {"forest", "river", "urban"});
  metadata.threshold = 0.35;
  const fs::path path = dir / "model.safetensors";
  satx::models::save_model_file(path, *network, metadata);

  auto loaded = satx::models::load_model_file(path);
  EXPECT_FALSE(loaded.network->is_training());
  EXPECT_EQ(loaded.metadata.arch, "mobilenetv2");
  EXPECT_EQ(loaded.metadata.classes, metadata.classes);
  EXPECT_EQ(loaded.metadata.input_size, 96);
  EXPECT_EQ(loaded.metadata.mean, metadata.mean);
  EXPECT_EQ(loaded.metadata.std, metadata.std);
  ASSERT_TRUE(loaded.metadata.threshold.has_value());
  EXPECT_DOUBLE_EQ(*loaded.metadata.threshold, 0.35);
  EXPECT_EQ(loaded.metadata.training, metadata.training);
  EXPECT_EQ(loaded.metadata.satx_version, satx::version());
  const auto input = torch::randn({2, 3, 96, 96});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(network->forward(input), loaded.network->forward(input)));

  // The metadata is a JSON string under __metadata__["satx"], readable by any safetensors reader.
  const auto header = satx::io::read_safetensors_header(path);
  const auto satx_json = nlohmann::json::parse(header.metadata.at("satx"));
  EXPECT_EQ(satx_json.at("format_version"), 1);
  EXPECT_EQ(satx_json.at("classes").size(), 3u);
  EXPECT_EQ(header.metadata.at("format"), "pt");
}

TEST(ModelFile, ReadsAndUpdatesMetadataWithoutTouchingTensors) {
  TempDir dir;
  auto network = satx::models::create_network("mobilenetv2", {2, 3});
  const fs::path path = dir / "model.safetensors";
  satx::models::save_model_file(path, *network, metadata_for("mobilenetv2", {"no", "yes"}));
  const auto header_before = satx::io::read_safetensors_header(path);
  const std::string bytes_before = satx::testing::read_text(path);

  auto metadata = satx::models::read_model_metadata(path);
  EXPECT_FALSE(metadata.threshold.has_value());
  metadata.threshold = 0.8;
  metadata.classes = {"clear", "cloudy"};
  satx::models::update_model_metadata(path, metadata);

  const auto updated = satx::models::read_model_metadata(path);
  EXPECT_DOUBLE_EQ(updated.threshold.value(), 0.8);
  EXPECT_EQ(updated.classes, (std::vector<std::string>{"clear", "cloudy"}));
  const auto header_after = satx::io::read_safetensors_header(path);
  const std::string bytes_after = satx::testing::read_text(path);
  ASSERT_EQ(header_after.tensors.size(), header_before.tensors.size());
  EXPECT_EQ(bytes_after.substr(header_after.data_offset), bytes_before.substr(header_before.data_offset));
  EXPECT_NO_THROW(satx::models::load_model_file(path));

  metadata.classes = {"a", "b", "c"};
  std::string message;
  EXPECT_EQ(error_of([&] { satx::models::update_model_metadata(path, metadata); }, &message), satx::ErrorCode::Usage);
}

TEST(ModelFile, RefusesMalformedFilesNamingThePath) {
  TempDir dir;
  auto network = satx::models::create_network("mobilenetv2", {2, 3});
  satx::io::TensorList tensors;
  for (const auto& [name, tensor] : satx::models::state_entries(*network)) tensors.emplace_back(name, tensor);
  const auto good = metadata_for("mobilenetv2", {"a", "b"}).to_json();
  auto write = [&](const std::string& name, const std::map<std::string, std::string>& metadata,
                   const satx::io::TensorList& list) {
    satx::io::write_safetensors(dir / name, list, metadata);
    return dir / name;
  };
  auto with = [&](const std::string& key, const nlohmann::json& value) {
    auto j = good;
    if (value.is_null()) j.erase(key); else j[key] = value;
    return std::map<std::string, std::string>{{"satx", j.dump()}};
  };
  struct Case {
    std::string what;
    fs::path path;
    std::string expect;
  };
  satx::io::TensorList short_list(tensors.begin(), tensors.end() - 1);
  std::vector<Case> cases = {
      {"no satx metadata", write("plain.safetensors", {}, tensors), "not a satx model file"},
      {"bad JSON", write("json.safetensors", {{"satx", "{nope"}}, tensors), "not valid JSON"},
      {"no arch", write("arch.safetensors", with("arch", nullptr), tensors), "malformed satx metadata"},
      {"unknown arch", write("unknown.safetensors", with("arch", "alexnet"), tensors), "alexnet"},
      {"classes not strings", write("classes.safetensors", with("classes", {1, 2}), tensors), "malformed"},
      {"too many classes", write("count.safetensors", with("classes", {"a", "b", "c"}), tensors), "classifier.1.weight"},
      {"mean length", write("mean.safetensors", with("mean", {0.5}), tensors), "mean/std"},
      {"newer format", write("version.safetensors", with("format_version", 99), tensors), "newer"},
      {"threshold out of range", write("thr.safetensors", with("threshold", 1.5), tensors), "threshold"},
      {"duplicate class", write("dup.safetensors", with("classes", {"a", "a"}), tensors), "class 'a' is listed twice"},
      {"missing tensor", write("short.safetensors", with("arch", "mobilenetv2"), short_list), "missing"},
  };
  for (const auto& c : cases) {
    std::string message;
    EXPECT_EQ(error_of([&] { satx::models::load_model_file(c.path); }, &message), satx::ErrorCode::BadData) << c.what;
    EXPECT_NE(message.find(c.path.string()), std::string::npos) << c.what << ": " << message;
    EXPECT_NE(message.find(c.expect), std::string::npos) << c.what << ": " << message;
  }
  std::string message;
  EXPECT_EQ(error_of([&] { satx::models::read_model_metadata(dir / "plain.safetensors"); }, &message), satx::ErrorCode::BadData);
  satx::testing::write_text(dir / "garbage.safetensors", "garbage!garbage!");
  EXPECT_EQ(error_of([&] { satx::models::load_model_file(dir / "garbage.safetensors"); }, &message), satx::ErrorCode::BadData);
  EXPECT_NE(message.find("garbage.safetensors"), std::string::npos) << message;
}

TEST(ModelFile, SaveRefusesMetadataThatContradictsTheNetwork) {
  TempDir dir;
  auto network = satx::models::create_network("mobilenetv2", {2, 3});
  std::string message;
  EXPECT_EQ(error_of([&] { satx::models::save_model_file(dir / "m.safetensors", *network, metadata_for("mobilenetv2", {"a", "b", "c"})); },
                     &message),
            satx::ErrorCode::Runtime);
  EXPECT_EQ(error_of([&] { satx::models::save_model_file(dir / "m.safetensors", *network, metadata_for("resnet50", {"a", "b"})); },
                     &message),
            satx::ErrorCode::Runtime);
  EXPECT_FALSE(fs::exists(dir / "m.safetensors"));
}
