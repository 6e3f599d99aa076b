#include "satx/eval/metrics.hpp"

#include <algorithm>
#include <cmath>

#include "satx/core/error.hpp"
#include "satx/eval/threshold.hpp"

namespace satx::eval {

namespace {

constexpr double kLogLossFloor = 1e-15;

double ratio(int64_t numerator, int64_t denominator) {
  return denominator > 0 ? static_cast<double>(numerator) / static_cast<double>(denominator) : 0.0;
}

}  // namespace

std::vector<std::vector<double>> Report::confusion_normalized() const {
  std::vector<std::vector<double>> normalized;
  for (const auto& row : confusion) {
    int64_t sum = 0;
    for (int64_t count : row) sum += count;
    std::vector<double> out(row.size(), 0.0);
    for (size_t j = 0; j < row.size(); ++j) out[j] = ratio(row[j], sum);
    normalized.push_back(std::move(out));
  }
  return normalized;
}

MetricsAccumulator::MetricsAccumulator(std::vector<std::string> classes, int topk, std::optional<double> threshold)
    : classes_(std::move(classes)), topk_(topk), threshold_(threshold) {
  if (classes_.size() < 2) throw_usage("metrics need at least two classes, got " + std::to_string(classes_.size()));
  if (topk_ < 0) throw_option("topk", "=" + std::to_string(topk_) + " must not be negative");
  confusion_.assign(classes_.size(), std::vector<int64_t>(classes_.size(), 0));
}

void MetricsAccumulator::add(const torch::Tensor& probabilities, const torch::Tensor& labels, const torch::Tensor& predicted) {
  const auto classes = static_cast<int64_t>(classes_.size());
  if (probabilities.dim() != 2 || probabilities.size(1) != classes)
    throw_usage("metrics: probabilities must be [n, " + std::to_string(classes) + "]");
  const torch::Tensor p = probabilities.to(torch::kCPU, torch::kFloat).contiguous();
  const torch::Tensor truth = labels.to(torch::kCPU, torch::kLong).contiguous();
  const torch::Tensor guess = predicted.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t n = p.size(0);
  if (truth.numel() != n || guess.numel() != n) throw_usage("metrics: probabilities, labels and predictions differ in length");

  const float* prob = p.data_ptr<float>();
  const int64_t* t = truth.data_ptr<int64_t>();
  const int64_t* g = guess.data_ptr<int64_t>();
  const int k = std::min<int>(topk_, static_cast<int>(classes));
  for (int64_t i = 0; i < n; ++i) {
    if (t[i] < 0 || t[i] >= classes || g[i] < 0 || g[i] >= classes)
      throw_bad_data("metrics: label " + std::to_string(t[i]) + " or prediction " + std::to_string(g[i]) +
                     " is outside the " + std::to_string(classes) + " classes");
    const float* row = prob + i * classes;
    ++confusion_[static_cast<size_t>(t[i])][static_cast<size_t>(g[i])];
    log_loss_sum_ -= std::log(std::clamp(static_cast<double>(row[t[i]]), kLogLossFloor, 1.0));
    if (k > 0) {
      // In the top k when fewer than k classes score strictly higher (ties favour the truth).
      int higher = 0;
      for (int64_t c = 0; c < classes; ++c) higher += row[c] > row[t[i]] ? 1 : 0;
      topk_hits_ += higher < k ? 1 : 0;
    }
    if (classes == 2) {
      scores_.push_back(row[1]);
      positives_.push_back(t[i] == 1 ? 1 : 0);
    }
  }
  samples_ += n;
}

void fill_class_metrics(Report& report) {
  const size_t classes = report.confusion.size();
  report.per_class.assign(classes, ClassMetrics{});
  report.macro = {};
  report.weighted = {};
  int64_t correct = 0, total = 0;
  std::vector<int64_t> predicted(classes, 0);
  for (size_t i = 0; i < classes; ++i)
    for (size_t j = 0; j < classes; ++j) {
      predicted[j] += report.confusion[i][j];
      total += report.confusion[i][j];
      if (i == j) correct += report.confusion[i][j];
    }
  report.samples = total;
  report.accuracy = ratio(correct, total);
  for (size_t c = 0; c < classes; ++c) {
    ClassMetrics& m = report.per_class[c];
    m.name = c < report.classes.size() ? report.classes[c] : std::to_string(c);
    for (int64_t count : report.confusion[c]) m.support += count;
    m.predicted = predicted[c];
    const int64_t tp = report.confusion[c][c];
    m.precision = ratio(tp, m.predicted);
    m.recall = ratio(tp, m.support);
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
    report.macro.precision += m.precision / static_cast<double>(classes);
    report.macro.recall += m.recall / static_cast<double>(classes);
    report.macro.f1 += m.f1 / static_cast<double>(classes);
    const double weight = ratio(m.support, total);
    report.weighted.precision += m.precision * weight;
    report.weighted.recall += m.recall * weight;
    report.weighted.f1 += m.f1 * weight;
  }
}

Report MetricsAccumulator::report() const {
  Report report;
  report.classes = classes_;
  report.confusion = confusion_;
  fill_class_metrics(report);
  report.topk = std::min<int>(topk_, static_cast<int>(classes_.size()));
  report.topk_accuracy = ratio(topk_hits_, samples_);
  report.log_loss = samples_ > 0 ? log_loss_sum_ / static_cast<double>(samples_) : 0.0;
  report.threshold = threshold_;
  if (classes_.size() == 2) {
    BinaryMetrics binary;
    binary.positive_class = classes_[1];
    binary.roc_auc = roc_auc(scores_, positives_);
    binary.pr_auc = average_precision(scores_, positives_);
    for (int step = 1; step <= 19; ++step)
      binary.table.push_back(evaluate_threshold(scores_, positives_, step * 0.05));
    report.binary = std::move(binary);
  }
  return report;
}

}  // namespace satx::eval
