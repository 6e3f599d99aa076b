#include <gtest/gtest.h>

#include "satx/core/error.hpp"

namespace satx {

TEST(ExitCodes, TableMatchesDesign) {
  EXPECT_EQ(exit_code(ErrorCode::Ok), 0);
  EXPECT_EQ(exit_code(ErrorCode::Runtime), 1);
  EXPECT_EQ(exit_code(ErrorCode::Usage), 2);
  EXPECT_EQ(exit_code(ErrorCode::BadData), 3);
  EXPECT_EQ(exit_code(ErrorCode::QualityGate), 4);
  ASSERT_EQ(exit_code_table().size(), 5u);
  for (size_t i = 0; i < exit_code_table().size(); ++i) EXPECT_EQ(exit_code(exit_code_table()[i].code), static_cast<int>(i));
}

TEST(Suggestions, NearestFindsCloseWordAndRejectsFarOne) {
  std::vector<std::string> models = {"mobilenetv2", "resnet50", "xception"};
  EXPECT_EQ(nearest("xcepton", models), "xception");
  EXPECT_EQ(nearest("resnet5", models), "resnet50");
  EXPECT_EQ(nearest("zzzzzzzzzzzzzz", models), "");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Suggestions, UnknownValueMessageNamesWordAndListsValid) {
  std::string message = unknown_value_message("model", "nosuchnet", {"mobilenetv2", "resnet50", "xception"});
  EXPECT_NE(message.find("'nosuchnet'"), std::string::npos);
  EXPECT_NE(message.find("mobilenetv2, resnet50, xception"), std::string::npos);
}

}  // namespace satx
