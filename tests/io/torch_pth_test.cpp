#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "support/python_support.hpp"
#include "satx/core/error.hpp"
#include "satx/io/safetensors.hpp"
#include "satx/io/torch_pth.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using satx::testing::TempDir;

namespace {

// Writes .pth files with PyTorch itself plus a JSON of the expected values (independent of
// satx's reader), in the folder given as argv[1].
const char* kWriter = R"PY(
import argparse, collections, json, os, struct, sys, zipfile
import torch
out = sys.argv[1]
torch.manual_seed(0)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd = collections.OrderedDict()
sd["f32"] = torch.randn(3, 4)
sd["f16"] = torch.randn(5).half()
sd["bf16"] = torch.randn(2, 3).bfloat16()
sd["f64"] = torch.randn(2, dtype=torch.float64)
sd["i64"] = torch.tensor([-(2**40), 0, 7], dtype=torch.int64)
sd["i32"] = torch.tensor([-5, 6], dtype=torch.int32)
sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
sd["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
sd["bool"] = torch.tensor([True, False, True])
sd["scalar"] = torch.tensor(2.5)
sd["empty"] = torch.zeros(0, 3)
sd["transposed"] = base.t()            # non-contiguous view of a shared storage
sd["slice"] = base[1:3, 2:5]           # offset + strides into the same storage
sd["whole"] = base                     # the storage itself
expected = {k: {"dtype": str(v.dtype), "shape": list(v.shape), "values": v.double().flatten().tolist()} for k, v in sd.items()}
json.dump(expected, open(os.path.join(out, "expected.json"), "w"))
torch.save(sd, os.path.join(out, "plain.pth"))
torch.save(sd, os.path.join(out, "proto4.pth"), pickle_protocol=4)

module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
msd = module.state_dict()  # an OrderedDict with _metadata (pickled via BUILD)
assert hasattr(msd, "_metadata")
torch.save(msd, os.path.join(out, "module.pth"))
json.dump({k: v.double().flatten().tolist() for k, v in msd.items()}, open(os.path.join(out, "module.json"), "w"))
wrapped = collections.OrderedDict(("module." + k, v) for k, v in msd.items())
torch.save({"epoch": 3, "args": argparse.Namespace(lr=0.1), "state_dict": wrapped, "best": 0.9},
           os.path.join(out, "checkpoint.pth"))
torch.save(msd, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)

# The same archive rewritten with zip64 central-directory records, as torch writes for files
# over 4 GiB, so the zip64 path is exercised without a 4 GiB file.
src = zipfile.ZipFile(os.path.join(out, "module.pth"))
body, central = b"", b""
for info in src.infolist():
    data = src.read(info.filename)
    name = info.filename.encode()
    offset = len(body)
    body += struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0, zipfile.crc32(data), len(data), len(data), len(name), 0) + name + data
    extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
    central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0, zipfile.crc32(data),
                           0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + name + extra
count = len(src.infolist())
zip64_end = len(body) + len(central)
tail = struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, count, count, len(central), len(body))
tail += struct.pack("<IIQI", 0x07064b50, 0, zip64_end, 1)
tail += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
open(os.path.join(out, "zip64.pth"), "wb").write(body + central + tail)

# Hostile pickles in otherwise valid archives.
hostile = {
    "deep": b"\x80\x02" + b")" + b"\x85" * 300000 + b".",                   # 300k nested tuples
    "memo": b"\x80\x02}j\xff\xff\xff\x7f.",                               # reads a memo slot never written
    "opcode": b"\x80\x02}\xff.",                                          # no such opcode
    "short": b"\x80\x02X\xff\xff\xff\x7fab",                              # string longer than the pickle
    "underflow": b"\x80\x02s.",                                            # SETITEM on an empty stack
    "view": b"\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
            b"ctorch\nFloatStorage\nX\x01\x00\x00\x00kX\x03\x00\x00\x00cpuK\x02tQK\x00K\x05\x85K\x01\x85\x89}tRs.",
}
for name, pickle_bytes in hostile.items():
    with zipfile.ZipFile(os.path.join(out, "hostile_%s.pth" % name), "w") as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/data/k", b"\0" * 8)

# The central directory's first entry with a broken signature.
raw = bytearray(open(os.path.join(out, "module.pth"), "rb").read())
raw[raw.find(b"PK\x01\x02") + 3] ^= 0x40
open(os.path.join(out, "corrupt.pth"), "wb").write(bytes(raw))
)PY";

class TorchPth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    python_ = satx::testing::python_with("torch");
    if (python_.empty()) return;
    dir_ = new TempDir();
    satx::testing::write_text(dir_->path() / "writer.py", kWriter);
    const auto result = satx::testing::run_shell(python_ + " '" + (dir_->path() / "writer.py").string() + "' '" +
                                                 dir_->path().string() + "'");
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (python_.empty()) GTEST_SKIP() << "no python3 that imports torch";
  }
  static fs::path file(const std::string& name) { return dir_->path() / name; }

  static std::string python_;
  static TempDir* dir_;
};
std::string TorchPth::python_;
TempDir* TorchPth::dir_ = nullptr;

std::string dtype_name(torch::ScalarType type) {
  static const std::map<torch::ScalarType, std::string> names = {
      {torch::kFloat, "torch.float32"}, {torch::kHalf, "torch.float16"}, {torch::kBFloat16, "torch.bfloat16"},
      {torch::kDouble, "torch.float64"}, {torch::kLong, "torch.int64"},  {torch::kInt, "torch.int32"},
      {torch::kShort, "torch.int16"},   {torch::kChar, "torch.int8"},    {torch::kByte, "torch.uint8"},
      {torch::kBool, "torch.bool"}};
  return names.at(type);
}

std::vector<double> values_of(const torch::Tensor& tensor) {
  auto flat = tensor.to(torch::kDouble).contiguous().flatten();
  return std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
}

void expect_matches_json(const satx::io::TensorList& tensors, const nlohmann::ordered_json& expected) {
  ASSERT_EQ(tensors.size(), expected.size());
  auto it = expected.begin();
  for (const auto& [name, tensor] : tensors) {
    ASSERT_EQ(name, it.key());  // pickle order is the dict's order
    EXPECT_EQ(dtype_name(tensor.scalar_type()), (*it)["dtype"].get<std::string>()) << name;
    EXPECT_EQ(tensor.sizes().vec(), (*it)["shape"].get<std::vector<int64_t>>()) << name;
    EXPECT_EQ(values_of(tensor), (*it)["values"].get<std::vector<double>>()) << name;
    EXPECT_TRUE(tensor.is_contiguous()) << name;
    ++it;
  }
}

satx::ErrorCode read_code(const fs::path& path, std::string* message) {
  try {
    satx::io::read_torch_pth(path);
  } catch (const satx::Error& e) {
    *message = e.what();
    return e.code();
  }
  return satx::ErrorCode::Ok;
}

}  // namespace

TEST_F(TorchPth, ReadsEveryDtypeAndViewTorchSaveWrites) {
  const auto expected = nlohmann::ordered_json::parse(satx::testing::read_text(file("expected.json")));
  expect_matches_json(satx::io::read_torch_pth(file("plain.pth")), expected);
}

TEST_F(TorchPth, ReadsPickleProtocolFour) {
  const auto expected = nlohmann::ordered_json::parse(satx::testing::read_text(file("expected.json")));
  expect_matches_json(satx::io::read_torch_pth(file("proto4.pth")), expected);
}

TEST_F(TorchPth, ReadsModuleStateDictWithMetadata) {
  const auto expected = nlohmann::ordered_json::parse(satx::testing::read_text(file("module.json")));
  const auto tensors = satx::io::read_torch_pth(file("module.pth"));
  ASSERT_EQ(tensors.size(), expected.size());
  size_t i = 0;
  for (const auto& [name, values] : expected.items()) {
    EXPECT_EQ(tensors[i].first, name);
    EXPECT_EQ(values_of(tensors[i].second), values.get<std::vector<double>>()) << name;
    ++i;
  }
  EXPECT_EQ(tensors.back().first, "1.num_batches_tracked");
}

TEST_F(TorchPth, UnwrapsCheckpointsAndDataParallelPrefix) {
  const auto plain = satx::io::read_torch_pth(file("module.pth"));
  const auto unwrapped = satx::io::read_torch_pth(file("checkpoint.pth"));
  ASSERT_EQ(unwrapped.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(unwrapped[i].first, plain[i].first);
    EXPECT_TRUE(torch::equal(unwrapped[i].second, plain[i].second));
  }
}

TEST_F(TorchPth, ReadsZip64Archives) {
  const auto plain = satx::io::read_torch_pth(file("module.pth"));
  const auto zip64 = satx::io::read_torch_pth(file("zip64.pth"));
  ASSERT_EQ(zip64.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_TRUE(torch::equal(zip64[i].second, plain[i].second));
}

TEST_F(TorchPth, RefusesLegacyFilesPointingAtTheConverter) {
  std::string message;
  EXPECT_EQ(read_code(file("legacy.pth"), &message), satx::ErrorCode::BadData);
  EXPECT_NE(message.find("scripts/convert-legacy-pth.py"), std::string::npos) << message;
  EXPECT_NE(message.find("legacy.pth"), std::string::npos) << message;
}

TEST_F(TorchPth, RefusesTruncatedAndCorruptArchives) {
  const std::string bytes = satx::testing::read_text(file("module.pth"));
  std::string message;
  for (size_t keep : {size_t{0}, size_t{3}, size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
    satx::testing::write_text(file("cut.pth"), bytes.substr(0, keep));
    EXPECT_EQ(read_code(file("cut.pth"), &message), satx::ErrorCode::BadData) << keep;
  }
  EXPECT_EQ(read_code(file("corrupt.pth"), &message), satx::ErrorCode::BadData);
  EXPECT_NE(message.find("corrupt.pth"), std::string::npos) << message;
  EXPECT_NE(message.find("not a readable torch.save archive"), std::string::npos) << message;
  // Garbage that is neither zip nor pickle.
  satx::testing::write_text(file("text.pth"), "hello, this is not a checkpoint");
  EXPECT_EQ(read_code(file("text.pth"), &message), satx::ErrorCode::BadData);
}

TEST_F(TorchPth, RefusesHostilePicklesWithoutCrashing) {
  for (const char* name : {"deep", "memo", "opcode", "short", "underflow", "view"}) {
    std::string message;
    EXPECT_EQ(read_code(file(std::string("hostile_") + name + ".pth"), &message), satx::ErrorCode::BadData) << name;
    EXPECT_NE(message.find("hostile_"), std::string::npos) << name << ": " << message;
  }
}

TEST(TorchPthShared, MatchesTheSafetensorsTwin) {
  SATX_REQUIRE_SHARED(shared);
  const fs::path pth = shared / "weights" / "mobilenet_v2_imagenet.pth";
  const fs::path twin = shared / "weights" / "mobilenet_v2_imagenet.safetensors";
  if (!fs::exists(pth) || !fs::exists(twin)) GTEST_SKIP() << "shared MobileNetV2 weights absent";
  const auto from_pth = satx::io::read_torch_pth(pth);
  const auto from_safetensors = satx::io::read_safetensors(twin);
  std::map<std::string, torch::Tensor> reference(from_safetensors.begin(), from_safetensors.end());
  ASSERT_EQ(from_pth.size(), reference.size());
  EXPECT_EQ(from_pth.front().first, "features.0.0.weight");  // torchvision's state-dict order
  for (const auto& [name, tensor] : from_pth) {
    ASSERT_TRUE(reference.count(name)) << name;
    EXPECT_EQ(tensor.scalar_type(), reference[name].scalar_type()) << name;
    EXPECT_TRUE(torch::equal(tensor, reference[name])) << name;
  }
}

TEST_F(TorchPth, ConvertLegacyScriptProducesFilesSatxReads) {
  const std::string script = std::string(SATX_SOURCE_DIR) + "/scripts/convert-legacy-pth.py";
  const auto plain = satx::io::read_torch_pth(file("module.pth"));
  for (const char* out : {"converted.safetensors", "converted.pth"}) {
    const auto result = satx::testing::run_shell(python_ + " '" + script + "' '" + file("legacy.pth").string() + "' '" +
                                                 file(out).string() + "'");
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto converted = std::string(out).find(".pth") != std::string::npos ? satx::io::read_torch_pth(file(out))
                                                                              : satx::io::read_safetensors(file(out));
    ASSERT_EQ(converted.size(), plain.size()) << out;
    for (size_t i = 0; i < plain.size(); ++i) {
      EXPECT_EQ(converted[i].first, plain[i].first) << out;
      EXPECT_TRUE(torch::equal(converted[i].second, plain[i].second)) << out << " " << plain[i].first;
    }
  }
}
