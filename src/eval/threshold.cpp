#include "satx/eval/threshold.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "satx/core/error.hpp"

namespace satx::eval {

namespace {

// One step of the sweep from the highest score down: everything scoring >= `score` is
// predicted positive.
struct SweepPoint {
  double score;
  int64_t tp, fp;
};

std::vector<SweepPoint> sweep(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  if (scores.size() != labels.size()) throw_usage("threshold sweep: scores and labels differ in length");
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<SweepPoint> points;
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (labels[order[i]] ? tp : fp) += 1;
    if (i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]]) points.push_back({scores[order[i]], tp, fp});
  }
  return points;
}

ThresholdPoint make_point(double threshold, int64_t tp, int64_t fp, int64_t positives, int64_t negatives) {
  ThresholdPoint p;
  p.threshold = threshold;
  p.tp = tp;
  p.fp = fp;
  p.fn = positives - tp;
  p.tn = negatives - fp;
  p.precision = tp + fp > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 1.0;
  p.recall = positives > 0 ? static_cast<double>(tp) / static_cast<double>(positives) : 0.0;
  p.fpr = negatives > 0 ? static_cast<double>(fp) / static_cast<double>(negatives) : 0.0;
  p.f1 = p.precision + p.recall > 0 ? 2 * p.precision * p.recall / (p.precision + p.recall) : 0.0;
  p.youden = p.recall - p.fpr;
  return p;
}

double parse_target(const std::string& text, const std::string& number) {
  try {
    size_t used = 0;
    double value = std::stod(number, &used);
    if (used == number.size() && value > 0 && value <= 1) return value;
  } catch (const std::exception&) {
  }
  throw_usage("-choose-threshold=" + text + ": the target must be a number in (0, 1], e.g. precision>=0.9");
}

}  // namespace

ThresholdCriterion parse_threshold_criterion(const std::string& text) {
  ThresholdCriterion criterion;
  criterion.text = text;
  if (text == "youden") return criterion;
  if (text == "f1") {
    criterion.kind = ThresholdCriterion::Kind::F1;
    return criterion;
  }
  for (const auto& [prefix, kind] : {std::pair<std::string, ThresholdCriterion::Kind>{"precision>=", ThresholdCriterion::Kind::MinPrecision},
                                     {"recall>=", ThresholdCriterion::Kind::MinRecall}}) {
    if (text.rfind(prefix, 0) == 0) {
      criterion.kind = kind;
      criterion.target = parse_target(text, text.substr(prefix.size()));
      return criterion;
    }
  }
  throw_usage("unknown -choose-threshold '" + text + "'; valid: youden, f1, precision>=P, recall>=R (e.g. recall>=0.9)");
}

ThresholdPoint evaluate_threshold(const std::vector<float>& scores, const std::vector<uint8_t>& labels, double threshold) {
  int64_t tp = 0, fp = 0, positives = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    positives += labels[i] ? 1 : 0;
    if (scores[i] >= threshold) (labels[i] ? tp : fp) += 1;
  }
  return make_point(threshold, tp, fp, positives, static_cast<int64_t>(scores.size()) - positives);
}

ThresholdPoint choose_threshold(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                                const ThresholdCriterion& criterion) {
  const std::vector<SweepPoint> points = sweep(scores, labels);
  const int64_t positives = points.empty() ? 0 : points.back().tp;
  const int64_t negatives = points.empty() ? 0 : points.back().fp;
  if (positives == 0 || negatives == 0)
    throw_runtime("cannot choose a threshold (" + criterion.text + "): the evaluation data has no " +
                  (positives == 0 ? "positive" : "negative") + " samples");

  std::optional<ThresholdPoint> best;
  double best_reachable = 0;  // for the message when a target is out of reach
  for (size_t g = 0; g < points.size(); ++g) {
    const double lower = g + 1 < points.size() ? points[g + 1].score : 0.0;
    const double threshold = (points[g].score + lower) / 2.0;
    const ThresholdPoint p = make_point(threshold, points[g].tp, points[g].fp, positives, negatives);
    double value = 0;
    bool eligible = true;
    switch (criterion.kind) {
      case ThresholdCriterion::Kind::Youden: value = p.youden; break;
      case ThresholdCriterion::Kind::F1: value = p.f1; break;
      case ThresholdCriterion::Kind::MinPrecision:
        best_reachable = std::max(best_reachable, p.precision);
        eligible = p.precision >= criterion.target;
        value = p.recall;
        break;
      case ThresholdCriterion::Kind::MinRecall:
        best_reachable = std::max(best_reachable, p.recall);
        eligible = p.recall >= criterion.target;
        value = p.precision;
        break;
    }
    if (!eligible) continue;
    const double best_value = !best ? -std::numeric_limits<double>::infinity()
                              : criterion.kind == ThresholdCriterion::Kind::Youden ? best->youden
                              : criterion.kind == ThresholdCriterion::Kind::F1     ? best->f1
                              : criterion.kind == ThresholdCriterion::Kind::MinPrecision ? best->recall
                                                                                         : best->precision;
    if (value > best_value) best = p;  // strict: ties keep the higher threshold seen first
  }
  if (!best) {
    const char* what = criterion.kind == ThresholdCriterion::Kind::MinPrecision ? "precision" : "recall";
    throw_runtime("no threshold reaches " + criterion.text + " on this data (the best " + what + " is " +
                  std::to_string(best_reachable) + ")");
  }
  return *best;
}

std::vector<ThresholdPoint> threshold_curve(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  const std::vector<SweepPoint> points = sweep(scores, labels);
  std::vector<ThresholdPoint> curve;
  if (points.empty()) return curve;
  curve.reserve(points.size());
  for (const auto& p : points) curve.push_back(make_point(p.score, p.tp, p.fp, points.back().tp, points.back().fp));
  return curve;
}

double roc_auc(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  const std::vector<SweepPoint> points = sweep(scores, labels);
  if (points.empty() || points.back().tp == 0 || points.back().fp == 0) return std::nan("");
  double area = 0;
  int64_t tp_before = 0, fp_before = 0;
  for (const auto& p : points) {
    // Trapezoid: tied scores count half.
    area += static_cast<double>(p.fp - fp_before) * (static_cast<double>(tp_before) + static_cast<double>(p.tp - tp_before) / 2.0);
    tp_before = p.tp;
    fp_before = p.fp;
  }
  return area / (static_cast<double>(points.back().tp) * static_cast<double>(points.back().fp));
}

double average_precision(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  const std::vector<SweepPoint> points = sweep(scores, labels);
  if (points.empty() || points.back().tp == 0) return std::nan("");
  const auto positives = static_cast<double>(points.back().tp);
  double ap = 0, recall_before = 0;
  for (const auto& p : points) {
    const double recall = static_cast<double>(p.tp) / positives;
    const double precision = static_cast<double>(p.tp) / static_cast<double>(p.tp + p.fp);
    ap += (recall - recall_before) * precision;
    recall_before = recall;
  }
  return ap;
}

}  // namespace satx::eval
