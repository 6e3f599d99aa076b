// Evaluation report writers: format_report, report_to_json, report_to_csv and misclassified_csv.
#include <cmath>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "satx/eval/metrics.hpp"
#include "satx/eval/report.hpp"
#include "satx/infer/engine.hpp"

using namespace satx::eval;

namespace {

const std::vector<std::string> kThree = {"Forest", "River, wide", "Urban \"core\""};

// Six tiles; truth 0,0,1,1,2,2, argmax predictions 0,1,1,1,2,0 (as in metrics_test.cpp).
Report three_class_report(int topk = 2) {
  const torch::Tensor p = torch::tensor({0.6f, 0.3f, 0.1f, 0.3f, 0.5f, 0.2f, 0.2f, 0.7f, 0.1f,  //
                                         0.25f, 0.5f, 0.25f, 0.1f, 0.1f, 0.8f, 0.5f, 0.3f, 0.2f})
                              .view({6, 3});
  MetricsAccumulator metrics(kThree, topk);
  metrics.add(p, torch::tensor({0, 0, 1, 1, 2, 2}, torch::kLong), satx::infer::decide_labels(p, std::nullopt));
  return metrics.report();
}

// Eight tiles of a binary model decided at `threshold`; `all_negative` makes the curves undefined.
Report binary_report(double threshold, bool all_negative = false) {
  const std::vector<float> scores = {0.9f, 0.8f, 0.7f, 0.6f, 0.55f, 0.4f, 0.3f, 0.2f};
  std::vector<int64_t> truth = {1, 1, 0, 1, 0, 0, 1, 0};
  if (all_negative) truth.assign(truth.size(), 0);
  std::vector<float> flat;
  for (float s : scores) {
    flat.push_back(1 - s);
    flat.push_back(s);
  }
  const torch::Tensor p = torch::tensor(flat).view({8, 2});
  MetricsAccumulator metrics({"neg", "pos"}, 0, threshold);
  metrics.add(p, torch::tensor(truth), satx::infer::decide_labels(p, threshold));
  return metrics.report();
}

// An RFC 4180 parser for the CSV these writers produce (quoted fields may hold commas and "").
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
    } else if (c == '\n') {
      row.push_back(field);
      field.clear();
      rows.push_back(row);
      row.clear();
    } else {
      field += c;
    }
  }
  EXPECT_TRUE(field.empty() && row.empty()) << "the CSV should end with a newline";
  return rows;
}

using CsvKey = std::tuple<std::string, std::string, std::string>;  // metric, class, predicted

std::map<CsvKey, std::string> csv_values(const std::string& csv) {
  const auto rows = parse_csv(csv);
  std::map<CsvKey, std::string> values;
  EXPECT_FALSE(rows.empty());
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].size(), 4u) << "row " << i;
    if (rows[i].size() != 4) continue;
    EXPECT_TRUE(values.emplace(CsvKey{rows[i][0], rows[i][1], rows[i][2]}, rows[i][3]).second)
        << "duplicate row " << rows[i][0] << "," << rows[i][1] << "," << rows[i][2];
  }
  return values;
}

std::set<std::string> keys(const nlohmann::json& j) {
  std::set<std::string> names;
  for (auto it = j.begin(); it != j.end(); ++it) names.insert(it.key());
  return names;
}

}  // namespace

TEST(ReportJson, KeysAndValuesEqualTheReportFields) {
  const Report r = three_class_report();
  const nlohmann::json j = report_to_json(r);
  EXPECT_EQ(keys(j), (std::set<std::string>{"classes", "samples", "accuracy", "topk", "topk_accuracy", "log_loss", "macro",
                                            "weighted", "per_class", "confusion", "confusion_normalized", "threshold"}));
  EXPECT_EQ(j["classes"].get<std::vector<std::string>>(), kThree);
  EXPECT_EQ(j["samples"].get<int64_t>(), 6);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), r.accuracy);
  EXPECT_EQ(j["topk"].get<int>(), 2);
  EXPECT_DOUBLE_EQ(j["topk_accuracy"].get<double>(), r.topk_accuracy);
  EXPECT_DOUBLE_EQ(j["log_loss"].get<double>(), r.log_loss);
  for (const auto& [name, avg] : {std::pair{"macro", r.macro}, std::pair{"weighted", r.weighted}}) {
    EXPECT_EQ(keys(j[name]), (std::set<std::string>{"precision", "recall", "f1"})) << name;
    EXPECT_DOUBLE_EQ(j[name]["precision"].get<double>(), avg.precision) << name;
    EXPECT_DOUBLE_EQ(j[name]["recall"].get<double>(), avg.recall) << name;
    EXPECT_DOUBLE_EQ(j[name]["f1"].get<double>(), avg.f1) << name;
  }
  ASSERT_EQ(j["per_class"].size(), 3u);
  for (size_t c = 0; c < 3; ++c) {
    const auto& row = j["per_class"][c];
    const ClassMetrics& m = r.per_class[c];
    EXPECT_EQ(row["class"].get<std::string>(), kThree[c]);
    EXPECT_DOUBLE_EQ(row["precision"].get<double>(), m.precision);
    EXPECT_DOUBLE_EQ(row["recall"].get<double>(), m.recall);
    EXPECT_DOUBLE_EQ(row["f1"].get<double>(), m.f1);
    EXPECT_EQ(row["support"].get<int64_t>(), m.support);
    EXPECT_EQ(row["predicted"].get<int64_t>(), m.predicted);
  }
  EXPECT_EQ(j["confusion"].get<std::vector<std::vector<int64_t>>>(), r.confusion);
  EXPECT_EQ(j["confusion_normalized"].get<std::vector<std::vector<double>>>(), r.confusion_normalized());
  EXPECT_TRUE(j["threshold"].is_null());
  // The JSON survives a round trip through text (what -json writes).
  EXPECT_EQ(nlohmann::json::parse(j.dump()), j);
}

TEST(ReportJson, OmitsTopkWhenOffAndAddsBinaryCurvesForTwoClasses) {
  const Report r = binary_report(0.5);
  const nlohmann::json j = report_to_json(r);
  EXPECT_FALSE(j.contains("topk"));
  EXPECT_FALSE(j.contains("topk_accuracy"));
  EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), 0.5);
  ASSERT_TRUE(j.contains("binary"));
  ASSERT_TRUE(r.binary);
  const auto& b = j["binary"];
  EXPECT_EQ(keys(b), (std::set<std::string>{"positive_class", "roc_auc", "pr_auc", "thresholds"}));
  EXPECT_EQ(b["positive_class"].get<std::string>(), "pos");
  EXPECT_DOUBLE_EQ(b["roc_auc"].get<double>(), r.binary->roc_auc);
  EXPECT_DOUBLE_EQ(b["pr_auc"].get<double>(), r.binary->pr_auc);
  ASSERT_EQ(b["thresholds"].size(), r.binary->table.size());
  for (size_t i = 0; i < r.binary->table.size(); ++i) {
    const auto& row = b["thresholds"][i];
    const ThresholdPoint& p = r.binary->table[i];
    EXPECT_EQ(keys(row), (std::set<std::string>{"threshold", "precision", "recall", "fpr", "f1", "tp", "fp", "fn", "tn"}));
    EXPECT_DOUBLE_EQ(row["threshold"].get<double>(), p.threshold);
    EXPECT_DOUBLE_EQ(row["precision"].get<double>(), p.precision);
    EXPECT_DOUBLE_EQ(row["recall"].get<double>(), p.recall);
    EXPECT_DOUBLE_EQ(row["fpr"].get<double>(), p.fpr);
    EXPECT_DOUBLE_EQ(row["f1"].get<double>(), p.f1);
    EXPECT_EQ(row["tp"].get<int64_t>(), p.tp);
    EXPECT_EQ(row["fp"].get<int64_t>(), p.fp);
    EXPECT_EQ(row["fn"].get<int64_t>(), p.fn);
    EXPECT_EQ(row["tn"].get<int64_t>(), p.tn);
  }
}

TEST(ReportJson, UndefinedCurvesAreNullWhenDataHasOneClass) {
  const Report r = binary_report(0.5, /*all_negative=*/true);
  ASSERT_TRUE(r.binary);
  ASSERT_TRUE(std::isnan(r.binary->roc_auc));
  const nlohmann::json j = report_to_json(r);
  EXPECT_TRUE(j["binary"]["roc_auc"].is_null());
  EXPECT_TRUE(j["binary"]["pr_auc"].is_null());
  EXPECT_NO_THROW(nlohmann::json::parse(j.dump()));
  // The CSV leaves the value empty and the text says n/a.
  const auto values = csv_values(report_to_csv(r));
  EXPECT_EQ(values.at(CsvKey{"roc_auc", "", ""}), "");
  EXPECT_EQ(values.at(CsvKey{"pr_auc", "", ""}), "");
  const std::string text = format_report(r);
  EXPECT_NE(text.find("roc_auc         n/a"), std::string::npos) << text;
}

TEST(ReportCsv, HasOneRowPerValueAsDocumented) {
  const Report r = three_class_report();
  const std::string csv = report_to_csv(r);
  const auto rows = parse_csv(csv);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], (std::vector<std::string>{"metric", "class", "predicted", "value"}));
  // 11 overall rows (samples, accuracy, topk, topk_accuracy, log_loss, 6 averages),
  // 4 per class, one per confusion cell.
  EXPECT_EQ(rows.size(), 1u + 11u + 4u * 3u + 3u * 3u);
  const auto values = csv_values(csv);
  EXPECT_EQ(values.size(), rows.size() - 1);
  auto number = [&](const std::string& metric, const std::string& cls = "", const std::string& predicted = "") {
    auto it = values.find(CsvKey{metric, cls, predicted});
    EXPECT_NE(it, values.end()) << metric << " " << cls << " " << predicted;
    return it == values.end() ? std::nan("") : std::stod(it->second);
  };
  EXPECT_EQ(values.at(CsvKey{"samples", "", ""}), "6");
  EXPECT_NEAR(number("accuracy"), r.accuracy, 1e-9);
  EXPECT_EQ(values.at(CsvKey{"topk", "", ""}), "2");
  EXPECT_NEAR(number("topk_accuracy"), r.topk_accuracy, 1e-9);
  EXPECT_NEAR(number("log_loss"), r.log_loss, 1e-9);
  EXPECT_NEAR(number("macro_precision"), r.macro.precision, 1e-9);
  EXPECT_NEAR(number("macro_recall"), r.macro.recall, 1e-9);
  EXPECT_NEAR(number("macro_f1"), r.macro.f1, 1e-9);
  EXPECT_NEAR(number("weighted_precision"), r.weighted.precision, 1e-9);
  EXPECT_NEAR(number("weighted_recall"), r.weighted.recall, 1e-9);
  EXPECT_NEAR(number("weighted_f1"), r.weighted.f1, 1e-9);
  for (size_t c = 0; c < kThree.size(); ++c) {
    EXPECT_NEAR(number("precision", kThree[c]), r.per_class[c].precision, 1e-9) << kThree[c];
    EXPECT_NEAR(number("recall", kThree[c]), r.per_class[c].recall, 1e-9) << kThree[c];
    EXPECT_NEAR(number("f1", kThree[c]), r.per_class[c].f1, 1e-9) << kThree[c];
    EXPECT_EQ(values.at(CsvKey{"support", kThree[c], ""}), std::to_string(r.per_class[c].support));
    for (size_t p = 0; p < kThree.size(); ++p)
      EXPECT_EQ(values.at(CsvKey{"confusion", kThree[c], kThree[p]}), std::to_string(r.confusion[c][p]))
          << kThree[c] << " -> " << kThree[p];
  }
  // Overall metrics have no threshold or curves for three classes.
  EXPECT_EQ(values.count(CsvKey{"threshold", "", ""}), 0u);
  EXPECT_EQ(values.count(CsvKey{"roc_auc", "", ""}), 0u);
}

TEST(ReportCsv, QuotesClassNamesWithCommasAndQuotes) {
  const std::string csv = report_to_csv(three_class_report());
  EXPECT_NE(csv.find("\nprecision,\"River, wide\",,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nconfusion,\"River, wide\",\"Urban \"\"core\"\"\",0\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nconfusion,Forest,Forest,1\n"), std::string::npos) << csv;
}

TEST(ReportCsv, BinaryReportAddsThresholdAndCurves) {
  const Report r = binary_report(0.25);
  const auto values = csv_values(report_to_csv(r));
  ASSERT_TRUE(r.binary);
  EXPECT_NEAR(std::stod(values.at(CsvKey{"threshold", "", ""})), 0.25, 1e-12);
  EXPECT_NEAR(std::stod(values.at(CsvKey{"roc_auc", "", ""})), r.binary->roc_auc, 1e-9);
  EXPECT_NEAR(std::stod(values.at(CsvKey{"pr_auc", "", ""})), r.binary->pr_auc, 1e-9);
  EXPECT_EQ(values.count(CsvKey{"topk", "", ""}), 0u);
  EXPECT_EQ(values.count(CsvKey{"topk_accuracy", "", ""}), 0u);
  // 10 overall rows (samples, accuracy, log_loss, 6 averages, threshold) + roc/pr + 4x2 + 2x2.
  EXPECT_EQ(values.size(), 10u + 2u + 8u + 4u);
}

TEST(FormatReport, NamesEveryClassAndTheSummaryValues) {
  const Report r = three_class_report();
  const std::string text = format_report(r);
  for (const auto& name : kThree) EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  EXPECT_NE(text.find("tiles           6\n"), std::string::npos) << text;
  EXPECT_NE(text.find("accuracy        0.6667\n"), std::string::npos) << text;
  EXPECT_NE(text.find("top2_accuracy   0.8333\n"), std::string::npos) << text;
  EXPECT_NE(text.find("macro avg"), std::string::npos);
  EXPECT_NE(text.find("weighted avg"), std::string::npos);
  EXPECT_EQ(text.find("roc_auc"), std::string::npos);  // three classes: no curves
  // The count matrix row of class 2 ([1 0 1]) and its percentages.
  std::istringstream lines(text);
  std::vector<std::string> rows_of_class_2;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("[2] " + kThree[2], 0) == 0) rows_of_class_2.push_back(line.substr(4 + kThree[2].size()));
  ASSERT_EQ(rows_of_class_2.size(), 2u) << text;
  std::istringstream counts(rows_of_class_2[0]), percent(rows_of_class_2[1]);
  std::vector<std::string> c{std::istream_iterator<std::string>(counts), {}};
  std::vector<std::string> p{std::istream_iterator<std::string>(percent), {}};
  EXPECT_EQ(c, (std::vector<std::string>{"1", "0", "1"}));
  EXPECT_EQ(p, (std::vector<std::string>{"50.0", "0.0", "50.0"}));
}

TEST(FormatReport, ShowsBinaryCurvesThresholdAndTable) {
  const Report r = binary_report(0.5);
  const std::string text = format_report(r);
  EXPECT_NE(text.find("roc_auc         0.7500\n"), std::string::npos) << text;
  EXPECT_NE(text.find("(positive class: pos)"), std::string::npos) << text;
  EXPECT_NE(text.find("threshold       0.5000"), std::string::npos) << text;
  EXPECT_EQ(text.find("_accuracy"), std::string::npos) << "no top-k line when top-k is off\n" << text;
  for (const char* t : {"\n0.05 ", "\n0.50 ", "\n0.95 "}) EXPECT_NE(text.find(t), std::string::npos) << t << "\n" << text;
}

TEST(MisclassifiedCsv, WritesOneQuotedRowPerTileWithClassNames) {
  const std::vector<Misclassified> rows = {
      {"tiles/a,b.png", 0, 1, 0.75f, 0.25f},
      {"tiles/say \"hi\".png", 2, 0, 0.5f, 0.125f},
      {"tiles/plain.png", 1, 2, 0.6f, 0.3f},
  };
  const std::string csv = misclassified_csv(rows, kThree);
  const auto parsed = parse_csv(csv);
  ASSERT_EQ(parsed.size(), 4u) << csv;
  EXPECT_EQ(parsed[0], (std::vector<std::string>{"path", "true_label", "predicted_label", "score", "true_score"}));
  EXPECT_EQ(parsed[1], (std::vector<std::string>{"tiles/a,b.png", "Forest", "River, wide", "0.75", "0.25"}));
  EXPECT_EQ(parsed[2], (std::vector<std::string>{"tiles/say \"hi\".png", "Urban \"core\"", "Forest", "0.5", "0.125"}));
  EXPECT_EQ(parsed[3], (std::vector<std::string>{"tiles/plain.png", "River, wide", "Urban \"core\"", "0.6", "0.3"}));
  EXPECT_NE(csv.find("\"tiles/a,b.png\",Forest,\"River, wide\",0.75,0.25\n"), std::string::npos) << csv;
  EXPECT_EQ(misclassified_csv({}, kThree), "path,true_label,predicted_label,score,true_score\n");
}
