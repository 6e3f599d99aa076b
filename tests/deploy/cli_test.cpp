// `satx export` through the binary: where it writes, what it refuses, and (where onnxruntime is
// installed) that the exported graph scores tiles as `satx predict` does.
#include <gtest/gtest.h>

#include "support/python_support.hpp"
#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

using namespace satx::testing;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kClasses = {"Forest", "River", "Urban"};

struct Fixture {
  TempDir dir;
  fs::path model = dir / "tiny.safetensors";
  fs::path data = dir / "data";
  Fixture() { write_tiny_model(model, data, kClasses, 8, 32, true); }
};

Fixture& fixture() {
  static Fixture shared;
  return shared;
}

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

TEST(ExportCli, WritesTheOnnxFileBesideTheModelByDefault) {
  TempDir dir;
  fs::copy_file(fixture().model, dir / "best.safetensors");
  const RunResult result = run_satx("export -model=" + q(dir / "best.safetensors"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(fs::is_regular_file(dir / "best.onnx"));
  EXPECT_NE(result.err.find("opset 17"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("3 classes"), std::string::npos) << result.err;
}

TEST(ExportCli, NeverWritesOverTheModelItself) {
  TempDir dir;
  fs::copy_file(fixture().model, dir / "best.safetensors");
  const std::string before = read_text(dir / "best.safetensors");
  // The same file under another spelling of its path counts too.
  const RunResult result =
      run_satx("export -model=" + q(dir / "best.safetensors") + " -out=" + q(dir.path() / "." / "best.safetensors"));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("model file itself"), std::string::npos) << result.err;
  EXPECT_EQ(read_text(dir / "best.safetensors"), before);
}

TEST(ExportCli, BadRequestsFailClearlyAndLeaveNoFile) {
  TempDir dir;
  const std::string model = q(fixture().model);
  RunResult result = run_satx("export -model=" + model + " -format=tflite -out=" + q(dir / "m.onnx"));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("onnx only"), std::string::npos) << result.err;

  result = run_satx("export --model " + model + " --opset 11 -out=" + q(dir / "m.onnx"));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("opset"), std::string::npos) << result.err;

  result = run_satx("export -model=" + model + " -out=" + q(dir.path()));
  EXPECT_EQ(result.exit_code, 2) << result.err;

  write_text(dir / "blocker", "a file where a folder would have to be");
  result = run_satx("export -model=" + model + " -out=" + q(dir / "blocker" / "m.onnx"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("blocker"), std::string::npos) << result.err;

  result = run_satx("export -model=" + q(dir / "missing.safetensors") + " -out=" + q(dir / "m.onnx"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("missing.safetensors"), std::string::npos) << result.err;

  EXPECT_FALSE(fs::exists(dir / "m.onnx"));
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) entries += entry.path().filename() != "blocker";
  EXPECT_EQ(entries, 0u) << "a failed export left a file behind";
}

// The acceptance check in miniature: onnxruntime on the exported file gives satx predict's
// probabilities within 1e-4 (bench/onnx_parity.sh runs it on EuroSAT for every architecture).
TEST(ExportCli, OnnxruntimeGivesSatxPredictsProbabilities) {
  SATX_REQUIRE_PYTHON(python, "onnxruntime, numpy, PIL");
  Fixture& f = fixture();
  TempDir dir;
  RunResult result = run_satx("export -model=" + q(f.model) + " -out=" + q(dir / "m.onnx") + " -batch=4");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  result = run_satx("predict -model=" + q(f.model) + " -input=" + q(f.data) + " -output=" + q(dir / "p.csv") +
                    " -threads=2");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  result = run_shell(python + " " + SATX_SOURCE_DIR + "/scripts/onnx-check.py " + q(dir / "m.onnx") + " " +
                     q(dir / "p.csv"));
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("24 tiles"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("top-1 agreement 24/24"), std::string::npos) << result.out;
}

}  // namespace
