// The command line as analysts type it: single-dash and double-dash spellings, help, errors.
#include <gtest/gtest.h>

#include "application.hpp"
#include "support/test_support.hpp"

namespace satx::cli {
namespace {

// Every option's parsed values for the train command, keyed by option name.
std::map<std::string, std::vector<std::string>> parsed_train_options(const std::vector<std::string>& words) {
  std::vector<std::string> argv_storage = {"satx"};
  argv_storage.insert(argv_storage.end(), words.begin(), words.end());
  std::vector<char*> argv;
  for (auto& word : argv_storage) argv.push_back(word.data());
  Application application = build_application();
  parse_arguments(application, normalize_args(static_cast<int>(argv.size()), argv.data()));
  std::map<std::string, std::vector<std::string>> values;
  CLI::App* train = application.app->get_subcommand("train");
  EXPECT_TRUE(train->parsed());
  for (const CLI::Option* option : train->get_options()) values[option->get_name()] = option->results();
  return values;
}

TEST(CommandLine, SingleDashEqualsParsesLikeDoubleDashSpace) {
  auto single = parsed_train_options({"train", "-model=xception", "-train=train", "-valid=valid"});
  auto double_dash = parsed_train_options({"train", "--model", "xception", "--train", "train", "--valid", "valid"});
  EXPECT_EQ(single, double_dash);
  EXPECT_EQ(single["--model"], std::vector<std::string>{"xception"});
  EXPECT_EQ(single["--train"], std::vector<std::string>{"train"});
}

TEST(CommandLine, AllFourSpellingsAgree) {
  auto a = parsed_train_options({"train", "-model=resnet50", "-train", "t", "--valid=v", "--epochs", "3", "-lr=0.01"});
  auto b = parsed_train_options({"train", "--model=resnet50", "--train=t", "-valid", "v", "-epochs=3", "--lr", "0.01"});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a["--epochs"], std::vector<std::string>{"3"});
}

TEST(CommandLine, RepeatableOptionCollectsEachSpelling) {
  auto a = parsed_train_options({"train", "-train=t", "-add-train=n1", "--add-train", "n2", "-valid=v"});
  EXPECT_EQ(a["--add-train"], (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(a["--valid"], std::vector<std::string>{"v"});
}

TEST(CommandLine, NormalizeLeavesShortFlagsNumbersAndStdinAlone) {
  std::vector<std::string> words = {"satx", "-h", "-input=-", "-", "-0.5", "-q", "-model", "x"};
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  auto out = normalize_args(static_cast<int>(argv.size()), argv.data());
  std::vector<std::string> expected = {"-h", "--input=-", "-", "-0.5", "-q", "--model", "x"};
  EXPECT_EQ(out, expected);
}

TEST(CommandLine, UnknownOptionIsUsageErrorWithSuggestion) {
  std::vector<std::string> words = {"train", "--modle=xception", "--train=a", "--valid=b"};
  Application application = build_application();
  try {
    parse_arguments(application, words);
    FAIL() << "expected a usage error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Usage);
    EXPECT_NE(std::string(e.what()).find("--modle"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("did you mean '--model'"), std::string::npos) << e.what();
  }
}

// The usage error of a command line as the binary sees it (after normalize_args).
std::string usage_error_of(const std::vector<std::string>& words) {
  std::vector<std::string> argv_storage = {"satx"};
  argv_storage.insert(argv_storage.end(), words.begin(), words.end());
  std::vector<char*> argv;
  for (auto& word : argv_storage) argv.push_back(word.data());
  Application application = build_application();
  try {
    parse_arguments(application, normalize_args(static_cast<int>(argv.size()), argv.data()));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Usage) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a usage error";
  return "";
}

TEST(CommandLine, FarFetchedSuggestionsAreLeftOutAndRepeatedFlagsNamed) {
  const std::string bogus = usage_error_of({"train", "-bogus", "-train=a", "-valid=b"});
  EXPECT_NE(bogus.find("unknown option '--bogus'"), std::string::npos) << bogus;
  EXPECT_EQ(bogus.find("did you mean"), std::string::npos) << bogus;
  const std::string near = usage_error_of({"train", "-epohcs=3", "-train=a", "-valid=b"});
  EXPECT_NE(near.find("did you mean '--epochs'"), std::string::npos) << near;
  const std::string twice = usage_error_of({"train", "-lr=0.1", "-lr=0.2", "-train=a", "-valid=b"});
  EXPECT_NE(twice.find("--lr is given more than once"), std::string::npos) << twice;
}

TEST(CommandLineBinary, UnknownModelExits2NamingItAndListingValidModels) {
  auto result = satx::testing::run_satx("train -model=nosuchnet -train=a -valid=b");
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("nosuchnet"), std::string::npos) << result.err;
  for (const char* model : {"mobilenetv2", "resnet50", "xception"})
    EXPECT_NE(result.err.find(model), std::string::npos) << result.err;
}

TEST(CommandLineBinary, UnknownCommandExits2WithSuggestion) {
  auto result = satx::testing::run_satx("trian");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("did you mean 'train'"), std::string::npos) << result.err;
}

TEST(CommandLineBinary, UnknownOptionExits2) {
  auto result = satx::testing::run_satx("train -train=a -valid=b -epohcs=3");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--epohcs"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("--epochs"), std::string::npos) << result.err;
}

TEST(CommandLineBinary, BadValueExits2) {
  auto result = satx::testing::run_satx("train -train=a -valid=b -epochs=many");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("many"), std::string::npos) << result.err;
}

TEST(CommandLineBinary, TrainHelpShowsGroupsAndDefaults) {
  auto result = satx::testing::run_satx("train --help");
  EXPECT_EQ(result.exit_code, 0);
  for (const char* text : {"Data:", "Phases:", "Optimization:", "Augmentation:", "Runtime:", "=mobilenetv2", "--head-epochs"})
    EXPECT_NE(result.out.find(text), std::string::npos) << "missing " << text << " in\n" << result.out;
}

TEST(CommandLineBinary, RootHelpListsEveryCommandAndExitCodes) {
  auto result = satx::testing::run_satx("--help");
  EXPECT_EQ(result.exit_code, 0);
  for (const auto& row : command_table()) EXPECT_NE(result.out.find(row.name), std::string::npos) << row.name;
  EXPECT_NE(result.out.find("Exit codes"), std::string::npos);
}

TEST(CommandLineBinary, VersionNamesSatxAndLibTorch) {
  auto result = satx::testing::run_satx("--version");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find(std::string("satx ") + version()), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("LibTorch"), std::string::npos);
}

TEST(CommandLineBinary, NoArgumentsPrintsHelpAndExits2) {
  auto result = satx::testing::run_satx("");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.out.find("train"), std::string::npos);
}

}  // namespace
}  // namespace satx::cli
