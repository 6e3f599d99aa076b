// `satx weights import|list` and `satx info`, run as a user would.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/models/model_file.hpp"
#include "satx/io/safetensors.hpp"
#include "satx/models/network.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using satx::testing::run_satx;
using satx::testing::TempDir;

namespace {

// A raw state dict (no satx metadata), as a user's own training script might save it.
fs::path write_state_dict(const TempDir& dir, int64_t classes) {
  torch::manual_seed(21);
  auto network = satx::models::create_network("mobilenetv2", {classes, 3});
  satx::io::TensorList tensors;
  for (const auto& [name, tensor] : satx::models::state_entries(*network)) tensors.emplace_back(name, tensor);
  const fs::path path = dir / "custom.safetensors";
  satx::io::write_safetensors(path, tensors);
  return path;
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

}  // namespace

TEST(CliWeights, ImportNamesClassesFromTheHeadWithoutLabels) {
  TempDir dir;
  const fs::path weights = write_state_dict(dir, 3);
  const auto result = run_satx("weights import -arch=mnv2 -weights=" + quoted(weights) + " -out=" + quoted(dir / "m.safetensors") +
                               " -input-size=128");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto metadata = satx::models::read_model_metadata(dir / "m.safetensors");
  EXPECT_EQ(metadata.arch, "mobilenetv2");
  EXPECT_EQ(metadata.classes, (std::vector<std::string>{"class_0", "class_1", "class_2"}));
  EXPECT_EQ(metadata.input_size, 128);
  EXPECT_EQ(metadata.mean, satx::models::find_manifest("mobilenetv2").mean);  // unknown file: the arch's default
  EXPECT_EQ(metadata.training.at("source"), "imported");

  const auto info = run_satx("info " + quoted(dir / "m.safetensors"));
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("3: class_0, class_1, class_2"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("128x128, 3 channels"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("none (argmax)"), std::string::npos) << info.out;
  const auto json = run_satx("info -json " + quoted(dir / "m.safetensors"));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed.at("arch"), "mobilenetv2");
  EXPECT_GT(parsed.at("parameters").get<int64_t>(), 2000000);
}

TEST(CliWeights, ImportRejectsBadInputsWithTheDocumentedExitCodes) {
  TempDir dir;
  const fs::path weights = write_state_dict(dir, 3);
  satx::testing::write_text(dir / "two.txt", "a\nb\n");
  satx::testing::write_text(dir / "garbage.pth", "PK\x03\x04 but not really a zip archive at all");
  struct Case {
    std::string args;
    int code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"weights", 2, "subcommand"},
      {"weights import -weights=" + quoted(weights), 2, "--arch"},
      {"weights import -arch=alexnet -weights=" + quoted(weights), 2, "alexnet"},
      {"weights import -arch=mobilenetv2 -weights=" + quoted(dir / "absent.pth"), 2, "absent.pth"},
      {"weights import -arch=mobilenetv2 -weights=" + quoted(weights) + " -labels=" + quoted(dir / "two.txt"), 2,
       "2 class names"},
      {"weights import -arch=resnet50 -weights=" + quoted(weights), 3, "into resnet50"},
      {"weights import -arch=mobilenetv2 -weights=" + quoted(dir / "garbage.pth"), 3, "garbage.pth"},
      {"info " + quoted(weights), 3, "not a satx model file"},
      {"info " + quoted(dir / "absent.safetensors"), 3, "absent.safetensors"},
      // A .pth where a model file belongs is named for what it is, not as a huge header length.
      {"info " + quoted(dir / "garbage.pth"), 3, "is a PyTorch .pth/.pt archive (a zip), not a safetensors file"},
      {"weights import -arch=mobilenetv2 -weights=" + quoted(dir.path()), 2, "is a folder"},
  };
  for (const auto& c : cases) {
    const auto result = run_satx(c.args);
    EXPECT_EQ(result.exit_code, c.code) << c.args << "\n" << result.err;
    EXPECT_NE(result.err.find(c.message), std::string::npos) << c.args << "\n" << result.err;
  }
}

TEST(CliWeights, ListShowsManifestsAndChecksLocalFiles) {
  TempDir dir;
  satx::testing::write_text(dir / "mobilenet_v2_imagenet.pth", "not the real file");
  const auto result = run_satx("weights list -dir=" + quoted(dir.path()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* expected : {"mobilenetv2 (aliases: mobilenet_v2", "resnet50", "xception", "feature dim 2048",
                               "https://download.pytorch.org/models/resnet50-11ad3fa6.pth", "0676ba61 (published prefix)"})
    EXPECT_NE(result.out.find(expected), std::string::npos) << expected << "\n" << result.out;
  EXPECT_NE(result.out.find("mobilenet_v2_imagenet.pth (sha256 MISMATCH)"), std::string::npos) << result.out;

  auto shared = satx::testing::shared_dir();
  if (!shared || !fs::exists(*shared / "weights" / "mobilenet_v2_imagenet.pth")) return;
  const auto real = run_satx("weights list -dir=" + quoted(*shared / "weights"));
  ASSERT_EQ(real.exit_code, 0) << real.err;
  EXPECT_NE(real.out.find("mobilenet_v2_imagenet.pth (sha256 ok)"), std::string::npos) << real.out;
  EXPECT_NE(real.out.find("mobilenet_v2_imagenet.safetensors (sha256 ok)"), std::string::npos) << real.out;
}
