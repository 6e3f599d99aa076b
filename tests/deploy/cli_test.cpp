// `satx export` through the binary: where it writes, what it refuses, and (where onnxruntime is
// installed) that the exported graph scores tiles as `satx predict` does.
#include <sys/stat.h>

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

  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0600), 0);
  result = run_satx("export -model=" + model + " -out=" + q(dir / "pipe"));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_TRUE(fs::is_fifo(dir / "pipe")) << "the FIFO was replaced by a file";

  write_text(dir / "blocker", "a file where a folder would have to be");
  result = run_satx("export -model=" + model + " -out=" + q(dir / "blocker" / "m.onnx"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("blocker"), std::string::npos) << result.err;

  result = run_satx("export -model=" + q(dir / "missing.safetensors") + " -out=" + q(dir / "m.onnx"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("missing.safetensors"), std::string::npos) << result.err;

  EXPECT_FALSE(fs::exists(dir / "m.onnx"));
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) entries += entry.path().filename() != "blocker" && entry.path().filename() != "pipe";
  EXPECT_EQ(entries, 0u) << "a failed export left a file behind";
}

// The acceptance check in miniature: onnxruntime on the exported file gives satx predict's
// probabilities within 1e-4 (bench/onnx_parity.sh runs it on EuroSAT for every architecture),
// for tiles at the model's input size, larger ones (shrunk on the 8-bit pixels) and smaller
// ones (enlarged after normalizing), following the preprocessing the metadata describes.
TEST(ExportCli, OnnxruntimeGivesSatxPredictsProbabilities) {
  SATX_REQUIRE_PYTHON(python, "onnxruntime, numpy, PIL, cv2");
  Fixture& f = fixture();
  TempDir dir;
  RunResult result = run_satx("export -model=" + q(f.model) + " -out=" + q(dir / "m.onnx") + " -batch=4");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const int side : {32, 45, 20}) {
    SCOPED_TRACE("tiles of " + std::to_string(side) + " px for a 32 px model");
    const fs::path tiles = side == 32 ? f.data : dir / ("tiles" + std::to_string(side));
    if (side != 32) make_tiny_dataset(tiles, kClasses, 4, side, 5);
    const fs::path csv = dir / ("p" + std::to_string(side) + ".csv");
    result = run_satx("predict -model=" + q(f.model) + " -input=" + q(tiles) + " -output=" + q(csv) + " -threads=2");
    ASSERT_EQ(result.exit_code, 0) << result.err;
    result = run_shell(python + " " + SATX_SOURCE_DIR + "/scripts/onnx-check.py " + q(dir / "m.onnx") + " " + q(csv));
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    const std::string count = std::to_string(side == 32 ? 24 : 12);
    EXPECT_NE(result.out.find(count + " tiles"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("top-1 agreement " + count + "/" + count), std::string::npos) << result.out;
  }
}

}  // namespace
