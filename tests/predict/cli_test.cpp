// End-to-end tests of `satx eval`, `satx predict` and `satx predict-merge` through the binary.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "satx/io/prediction_format.hpp"
#include "satx/io/prediction_reader.hpp"
#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

using namespace satx::testing;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kClasses = {"Forest", "River", "Urban"};

// One model and dataset shared by the tests of this file (building them takes a few seconds).
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

// Rows of a CSV without quoted fields (the test data has none): header excluded.
std::vector<std::vector<std::string>> csv_rows(const fs::path& file) {
  std::istringstream in(read_text(file));
  std::string line;
  std::vector<std::vector<std::string>> rows;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, ',')) fields.push_back(field);
    rows.push_back(fields);
  }
  return rows;
}

std::string true_class(const std::string& path) { return fs::path(path).parent_path().filename().string(); }

}  // namespace

// Acceptance: eval's accuracy equals an independent count over predict's CSV rows.
TEST(EvalCli, AccuracyAgreesWithACountOverPredictRows) {
  Fixture& f = fixture();
  TempDir out;
  RunResult eval = run_satx("eval -model=" + q(f.model) + " -data=" + q(f.data) + " -json=" + q(out / "e.json") +
                            " -misclassified=" + q(out / "wrong.csv") + " -threads=2");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_NE(eval.out.find("accuracy"), std::string::npos);
  EXPECT_NE(eval.out.find("confusion matrix"), std::string::npos);
  RunResult predict = run_satx("predict -model=" + q(f.model) + " -input=" + q(f.data) + " -output=" + q(out / "p.csv") + " -threads=2");
  ASSERT_EQ(predict.exit_code, 0) << predict.err;

  auto rows = csv_rows(out / "p.csv");
  ASSERT_EQ(rows.size(), kClasses.size() * 8);
  int64_t correct = 0;
  std::map<std::pair<std::string, std::string>, int64_t> confusion;
  std::set<std::string> predicted;
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 3 + kClasses.size());
    correct += row[1] == true_class(row[0]);
    confusion[{true_class(row[0]), row[1]}] += 1;
    predicted.insert(row[1]);
  }
  auto report = nlohmann::json::parse(read_text(out / "e.json"));
  EXPECT_EQ(report["samples"].get<int64_t>(), static_cast<int64_t>(rows.size()));
  EXPECT_DOUBLE_EQ(report["accuracy"].get<double>(), static_cast<double>(correct) / static_cast<double>(rows.size()));
  for (size_t i = 0; i < kClasses.size(); ++i)
    for (size_t j = 0; j < kClasses.size(); ++j)
      EXPECT_EQ(report["confusion"][i][j].get<int64_t>(), (confusion[{kClasses[i], kClasses[j]}])) << i << "," << j;
  // The fitted head makes this a real comparison, not all tiles in one class.
  EXPECT_GE(predicted.size(), 2u);
  EXPECT_EQ(csv_rows(out / "wrong.csv").size(), rows.size() - static_cast<size_t>(correct));
}

// Acceptance: quality gates exit 4 below the floor, 0 above it.
TEST(EvalCli, FailUnderExitsFourNamingTheMetric) {
  Fixture& f = fixture();
  const std::string base = "eval -model=" + q(f.model) + " -data=" + q(f.data) + " -threads=2";
  RunResult high = run_satx(base + " -fail-under accuracy=0.999 -fail-under macro_f1=0.1");
  RunResult low = run_satx(base + " -fail-under accuracy=0.5 -fail-under recall:River=0.5");
  EXPECT_EQ(low.exit_code, 0) << low.err;
  // A fitted head on 24 training tiles may still be perfect: then push the floor above 1.
  if (high.exit_code == 0) high = run_satx(base + " -fail-under accuracy=1.001");
  EXPECT_EQ(high.exit_code, 4) << high.err;
  EXPECT_NE(high.err.find("accuracy = "), std::string::npos) << high.err;
  EXPECT_NE(high.err.find("below the floor"), std::string::npos) << high.err;
  RunResult unknown = run_satx(base + " -fail-under acuracy=0.5");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("did you mean 'accuracy'"), std::string::npos) << unknown.err;
}

TEST(EvalCli, RefusesDataWhoseClassesDifferFromTheModel) {
  Fixture& f = fixture();
  TempDir other;
  make_tiny_dataset(other / "data", {"Forest", "Lake", "Urban"}, 2, 32);
  RunResult result = run_satx("eval -model=" + q(f.model) + " -data=" + q(other / "data"));
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_NE(result.err.find("River"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("Lake"), std::string::npos) << result.err;
}

TEST(EvalCli, TtaAveragesViewsOfTheSameTiles) {
  Fixture& f = fixture();
  TempDir out;
  RunResult tta = run_satx("eval -model=" + q(f.model) + " -data=" + q(f.data) + " -tta -json=" + q(out / "t.json") + " -threads=2");
  ASSERT_EQ(tta.exit_code, 0) << tta.err;
  auto report = nlohmann::json::parse(read_text(out / "t.json"));
  EXPECT_EQ(report["samples"].get<int64_t>(), 24);
  EXPECT_TRUE(report["tta"].get<bool>());

  RunResult scales = run_satx("eval -model=" + q(f.model) + " -data=" + q(f.data) +
                              " -tta-scales=1,1.5 -json=" + q(out / "s.json") + " -threads=2");
  ASSERT_EQ(scales.exit_code, 0) << scales.err;
  EXPECT_NE(scales.err.find("2-view TTA"), std::string::npos) << scales.err;
  EXPECT_EQ(nlohmann::json::parse(read_text(out / "s.json"))["tta_sizes"], nlohmann::json({32, 48}));
  RunResult bad = run_satx("eval -model=" + q(f.model) + " -data=" + q(f.data) + " --tta-scales 1,0");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("-tta-scales"), std::string::npos) << bad.err;
}

// Acceptance: -shard=0/3, 1/3, 2/3 cover every tile once; predict-merge joins them.
TEST(PredictCli, ShardsCoverEveryTileOnceAndMerge) {
  Fixture& f = fixture();
  TempDir out;
  std::string shards;
  for (int k = 0; k < 3; ++k) {
    const fs::path shard = out / ("s" + std::to_string(k) + ".csv");
    RunResult r = run_satx("predict -model=" + q(f.model) + " -input=" + q(f.data) + " -output=" + q(shard) + " -shard=" +
                           std::to_string(k) + "/3 -threads=2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    shards += " " + q(shard);
  }
  RunResult whole = run_satx("predict -model=" + q(f.model) + " -input=" + q(f.data) + " -output=" + q(out / "all.csv") + " -threads=2");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  std::multiset<std::string> covered;
  for (int k = 0; k < 3; ++k)
    for (const auto& row : csv_rows(out / ("s" + std::to_string(k) + ".csv"))) covered.insert(row[0]);
  std::set<std::string> everything;
  for (const auto& row : csv_rows(out / "all.csv")) everything.insert(row[0]);
  ASSERT_EQ(everything.size(), 24u);
  EXPECT_EQ(covered.size(), everything.size());
  for (const auto& path : everything) EXPECT_EQ(covered.count(path), 1u) << path;

  RunResult merge = run_satx("predict-merge -output=" + q(out / "merged.csv") + shards);
  ASSERT_EQ(merge.exit_code, 0) << merge.err;
  auto merged = csv_rows(out / "merged.csv");
  auto reference = csv_rows(out / "all.csv");
  EXPECT_EQ(std::multiset<std::vector<std::string>>(merged.begin(), merged.end()),
            std::multiset<std::vector<std::string>>(reference.begin(), reference.end()));
  // Merging a shard twice is refused.
  RunResult twice = run_satx("predict-merge -output=" + q(out / "bad.csv") + shards + " " + q(out / "s0.csv"));
  EXPECT_EQ(twice.exit_code, 3);
}

TEST(PredictCli, ReadsPathsFromStdinAndWritesGeoJson) {
  Fixture& f = fixture();
  TempDir out;
  // Slippy-map names: copy three tiles to {z}/{x}/{y}.png.
  std::string list;
  int i = 0;
  for (const auto& entry : fs::directory_iterator(f.data / "Forest")) {
    if (i == 3) break;
    const fs::path tile = out / "tiles" / "15" / std::to_string(17000 + i) / "11000.png";
    fs::create_directories(tile.parent_path());
    fs::copy_file(entry.path(), tile);
    list += tile.string() + "\n";
    ++i;
  }
  list += (out / "missing.png").string() + "\n";
  RunResult r = run_satx("predict -model=" + q(f.model) + " -input=- -output=" + q(out / "p.geojson"), list);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = nlohmann::json::parse(read_text(out / "p.geojson"));
  ASSERT_EQ(doc["features"].size(), 3u);
  const auto& feature = doc["features"][0];
  EXPECT_EQ(feature["geometry"]["type"], "Polygon");
  EXPECT_EQ(feature["properties"]["z"], 15);
  EXPECT_EQ(feature["properties"]["y"], 11000);
  EXPECT_EQ(read_text(out / "p.geojson.errors").rfind((out / "missing.png").string() + "\t", 0), 0u);
}

TEST(PredictCli, TopKAndJsonlColumns) {
  Fixture& f = fixture();
  TempDir out;
  RunResult r = run_satx("predict -model=" + q(f.model) + " -input=" + q(f.data / "River") + " -output=" + q(out / "p.jsonl") + " -topk=2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(read_text(out / "p.jsonl"));
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto row = nlohmann::json::parse(line);
    ASSERT_EQ(row["top"].size(), 2u);
    EXPECT_EQ(row["top"][0]["label"], row["label"]);
    EXPECT_GE(row["top"][0]["score"].get<double>(), row["top"][1]["score"].get<double>());
    ++lines;
  }
  EXPECT_EQ(lines, 8);
  // -threshold needs a two-class model.
  RunResult bad = run_satx("predict -model=" + q(f.model) + " -input=" + q(f.data) + " -output=" + q(out / "x.csv") + " -threshold=0.3");
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(PredictCli, ResumeRefusesAnOutputWithOtherColumns) {
  Fixture& f = fixture();
  TempDir out;
  write_text(out / "p.csv", "path,label,score,a,b\n");
  RunResult r = run_satx("predict -model=" + q(f.model) + " -input=" + q(f.data) + " -output=" + q(out / "p.csv") + " -resume");
  EXPECT_EQ(r.exit_code, 3);  // bad data: a file this run did not write
  EXPECT_NE(r.err.find("columns differ"), std::string::npos) << r.err;
}
