#include <cstring>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/io/safetensors.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using satx::testing::TempDir;

namespace {

std::string le64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

// A file made of a length prefix, `json` and `data_size` zero bytes.
std::string file_with_header(const std::string& json, size_t data_size) {
  return le64(json.size()) + json + std::string(data_size, '\0');
}

satx::ErrorCode parse_code(const std::string& bytes, std::string* message = nullptr) {
  try {
    satx::io::parse_safetensors_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), bytes.size(), "test");
  } catch (const satx::Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return satx::ErrorCode::Ok;
}

}  // namespace

TEST(Safetensors, ReadsHandWrittenFixture) {
  TempDir dir;
  // Written by hand from the format description: two tensors stored out of key order, metadata last.
  const std::string json =
      R"({"b":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"a":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"k":"v"}})";
  ASSERT_EQ(json.size(), 137u);
  std::string bytes("\x89\0\0\0\0\0\0\0", 8);
  bytes += json;
  const unsigned char data[] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0x00, 0x3c, 0x00, 0xc0};
  bytes.append(reinterpret_cast<const char*>(data), sizeof data);
  satx::testing::write_text(dir / "fixture.safetensors", bytes);

  std::map<std::string, std::string> metadata;
  auto tensors = satx::io::read_safetensors(dir / "fixture.safetensors", &metadata);
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[0].first, "a");  // data order
  EXPECT_EQ(tensors[0].second.scalar_type(), torch::kInt);
  EXPECT_TRUE(torch::equal(tensors[0].second, torch::tensor({{1, 2}, {3, 4}}, torch::kInt)));
  EXPECT_EQ(tensors[1].first, "b");
  EXPECT_EQ(tensors[1].second.scalar_type(), torch::kHalf);
  EXPECT_TRUE(torch::equal(tensors[1].second.to(torch::kFloat), torch::tensor({1.0f, -2.0f})));
  EXPECT_EQ(metadata.at("k"), "v");
}

TEST(Safetensors, RoundTripsEveryDtypeInOrder) {
  TempDir dir;
  torch::manual_seed(3);
  satx::io::TensorList written = {
      {"z.f32", torch::randn({3, 4})},
      {"a.f16", torch::randn({5}).to(torch::kHalf)},
      {"m.bf16", torch::randn({2, 2}).to(torch::kBFloat16)},
      {"f64", torch::randn({1, 2, 3}, torch::kDouble)},
      {"i64", torch::randint(-1000, 1000, {7}, torch::kLong)},
      {"i32", torch::randint(-1000, 1000, {3}, torch::kInt)},
      {"i16", torch::randint(-1000, 1000, {3}, torch::kShort)},
      {"i8", torch::randint(-100, 100, {3}, torch::kChar)},
      {"u8", torch::randint(0, 255, {9}, torch::kByte)},
      {"bool", torch::rand({4}) > 0.5},
      {"scalar", torch::tensor(7.5)},
      {"empty", torch::zeros({0, 3})},
      {"strided", torch::arange(12, torch::kFloat).view({3, 4}).t()},
  };
  const fs::path path = dir / "all.safetensors";
  satx::io::write_safetensors(path, written, {{"note", "hello"}});
  std::map<std::string, std::string> metadata;
  auto read = satx::io::read_safetensors(path, &metadata);
  ASSERT_EQ(read.size(), written.size());
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].first, written[i].first);
    EXPECT_EQ(read[i].second.scalar_type(), written[i].second.scalar_type()) << read[i].first;
    EXPECT_TRUE(torch::equal(read[i].second, written[i].second.contiguous())) << read[i].first;
  }
  EXPECT_EQ(metadata.at("note"), "hello");
  // The header is padded with spaces so the data section starts 8-byte aligned.
  const auto header = satx::io::read_safetensors_header(path);
  EXPECT_EQ(header.data_offset % 8, 0u);
  const std::string bytes = satx::testing::read_text(path);
  EXPECT_EQ(bytes[header.data_offset - 1], ' ');
  EXPECT_EQ(bytes.find("\"__metadata__\""), 9u);  // metadata first, as the reference writer does
  EXPECT_LT(bytes.find("\"z.f32\""), bytes.find("\"a.f16\""));
  // Nothing but the file itself is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(Safetensors, WriterRefusesDuplicateNames) {
  TempDir dir;
  satx::io::TensorList tensors = {{"x", torch::zeros({1})}, {"x", torch::ones({1})}};
  EXPECT_THROW(satx::io::write_safetensors(dir / "dup.safetensors", tensors), satx::Error);
  EXPECT_FALSE(fs::exists(dir / "dup.safetensors"));
}

TEST(Safetensors, RejectsHostileHeadersWithBadData) {
  const std::string ok_entry = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  struct Case {
    const char* what;
    std::string bytes;
  };
  std::vector<Case> cases = {
      {"empty file", ""},
      {"short file", std::string("\x05\0\0", 3)},
      {"length past end", le64(1000) + "{}"},
      {"length over 100 MB", le64(200'000'000) + std::string(16, ' ')},
      {"length 2^64-1", le64(~uint64_t{0}) + "{}"},
      {"not JSON", file_with_header("{nope", 0)},
      {"array root", file_with_header("[1,2]", 0)},
      {"string root", file_with_header("\"x\"", 0)},
      {"truncated JSON", file_with_header("{\"t\":{\"dtype\"", 0)},
      {"unknown dtype", file_with_header(R"({"t":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", 8)},
      {"dtype not string", file_with_header(R"({"t":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", 8)},
      {"missing shape", file_with_header(R"({"t":{"dtype":"F32","data_offsets":[0,8]}})", 8)},
      {"size mismatch", file_with_header(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)},
      {"negative dim", file_with_header(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)},
      {"float dim", file_with_header(R"({"t":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8)},
      {"huge dims overflow",
       file_with_header(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0)},
      {"dim beyond int64", file_with_header(R"({"t":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,8]}})", 8)},
      {"offsets past end", file_with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 8)},
      {"offsets reversed", file_with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)},
      {"offsets not pair", file_with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8)},
      {"overlap",
       file_with_header("{" + ok_entry + R"(,"u":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)},
      {"gap", file_with_header(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)},
      {"not covering", file_with_header("{" + ok_entry + "}", 16)},
      {"duplicate name", file_with_header("{" + ok_entry + "," + ok_entry + "}", 8)},
      {"duplicate field", file_with_header(R"({"t":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8)},
      {"metadata not object", file_with_header(R"({"__metadata__":[1]})", 0)},
      {"metadata non-string", file_with_header(R"({"__metadata__":{"a":1}})", 0)},
      {"entry not object", file_with_header(R"({"t":[1,2]})", 0)},
      {"deep nesting", file_with_header("{\"t\":" + std::string(100000, '[') + std::string(100000, ']') + "}", 0)},
      {"invalid utf8", file_with_header("{\"\xff\xfe\":{}}", 0)},
      {"leading space", file_with_header(" {}", 0)},
  };
  for (const auto& c : cases) {
    std::string message;
    EXPECT_EQ(parse_code(c.bytes, &message), satx::ErrorCode::BadData) << c.what;
    EXPECT_EQ(message.rfind("test: ", 0), 0u) << c.what << ": " << message;
  }
  // And the same headers that are valid pass, so the cases above fail for their own reason.
  EXPECT_EQ(parse_code(file_with_header("{" + ok_entry + "}", 8)), satx::ErrorCode::Ok);
  EXPECT_EQ(parse_code(file_with_header(R"({"__metadata__":{"a":"b"}}   )", 0)), satx::ErrorCode::Ok);
  EXPECT_EQ(parse_code(file_with_header(R"({"t":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]}})", 0)),
            satx::ErrorCode::Ok);
}

TEST(Safetensors, ErrorMessageNamesThePathAndReason) {
  TempDir dir;
  satx::testing::write_text(dir / "bad.safetensors", le64(1000) + "{}");
  try {
    satx::io::read_safetensors(dir / "bad.safetensors");
    FAIL() << "expected BadData";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(e.what()).find("bad.safetensors: header length 1000 exceeds file size"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(satx::io::read_safetensors_header(dir / "bad.safetensors"), satx::Error);
  EXPECT_THROW(satx::io::read_safetensors(dir / "absent.safetensors"), satx::Error);
}

TEST(Safetensors, RefusesBoolBytesOtherThanZeroOrOne) {
  TempDir dir;
  satx::testing::write_text(dir / "bool.safetensors",
                            file_with_header(R"({"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", 0) + "\x01\x07");
  EXPECT_THROW(satx::io::read_safetensors(dir / "bool.safetensors"), satx::Error);
}

TEST(Safetensors, RefusesDtypesLibTorchLacksButParsesThem) {
  TempDir dir;
  const std::string bytes = file_with_header(R"({"u":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}})", 4);
  satx::testing::write_text(dir / "u16.safetensors", bytes);
  EXPECT_EQ(satx::io::read_safetensors_header(dir / "u16.safetensors").tensors.at(0).dtype, "U16");
  EXPECT_THROW(satx::io::read_safetensors(dir / "u16.safetensors"), satx::Error);
}

TEST(Safetensors, ReadsTheSharedMobileNetWeights) {
  SATX_REQUIRE_SHARED(shared);
  const fs::path path = shared / "weights" / "mobilenet_v2_imagenet.safetensors";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent";
  std::map<std::string, std::string> metadata;
  auto tensors = satx::io::read_safetensors(path, &metadata);
  EXPECT_EQ(metadata.at("layout"), "torchvision");
  std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  ASSERT_EQ(by_name.size(), tensors.size());
  EXPECT_EQ(by_name.at("features.0.0.weight").sizes(), (std::vector<int64_t>{32, 3, 3, 3}));
  EXPECT_EQ(by_name.at("classifier.1.weight").sizes(), (std::vector<int64_t>{1000, 1280}));
  EXPECT_EQ(by_name.at("features.1.conv.0.1.num_batches_tracked").scalar_type(), torch::kLong);
  EXPECT_TRUE(torch::isfinite(by_name.at("classifier.1.weight")).all().item<bool>());
}
