#include <fstream>

#include <gtest/gtest.h>

#include "satx/core/error.hpp"
#include "satx/train/tensorboard.hpp"
#include "support/test_support.hpp"

using namespace satx::train;

TEST(TensorBoard, Crc32cMatchesTheStandardCheckValue) {
  const std::string text = "123456789";
  EXPECT_EQ(crc32c(text.data(), text.size()), 0xE3069283u);
  const uint32_t crc = 0xE3069283u;
  EXPECT_EQ(masked_crc32c(text.data(), text.size()), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(TensorBoard, ScalarsReadBackWithTheirTagsAndSteps) {
  satx::testing::TempDir dir;
  std::filesystem::path file;
  {
    EventWriter writer(dir.path());
    writer.add_scalar("head/train_loss", 0.75, 1, 1000.5);
    writer.add_scalar("full/val_accuracy", 0.9375, 3);
    writer.add_scalar("full/lr", 1e-4, 300);
    writer.flush();
    file = writer.path();
  }
  ASSERT_EQ(list_event_files(dir.path()), std::vector<std::filesystem::path>{file});
  EXPECT_NE(file.filename().string().find("events.out.tfevents."), std::string::npos);
  std::string version;
  const auto events = read_scalar_events(file, &version);
  EXPECT_EQ(version, "brain.Event:2");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].tag, "head/train_loss");
  EXPECT_FLOAT_EQ(events[0].value, 0.75f);
  EXPECT_EQ(events[0].step, 1);
  EXPECT_DOUBLE_EQ(events[0].wall_time, 1000.5);
  EXPECT_EQ(events[1].tag, "full/val_accuracy");
  EXPECT_EQ(events[1].step, 3);
  EXPECT_FLOAT_EQ(events[2].value, 1e-4f);
  EXPECT_EQ(events[2].step, 300);
}

TEST(TensorBoard, ReaderRejectsACorruptedRecord) {
  satx::testing::TempDir dir;
  std::filesystem::path file;
  {
    EventWriter writer(dir.path());
    writer.add_scalar("x", 1.0, 1);
    file = writer.path();
  }
  std::string bytes = satx::testing::read_text(file);
  bytes[bytes.size() - 6] ^= 0x40;  // inside the last record's payload
  satx::testing::write_text(file, bytes);
  try {
    read_scalar_events(file);
    FAIL() << "no error";
  } catch (const satx::Error& e) {
    EXPECT_EQ(e.code(), satx::ErrorCode::BadData);
    EXPECT_NE(std::string(e.what()).find("CRC"), std::string::npos);
  }
}
