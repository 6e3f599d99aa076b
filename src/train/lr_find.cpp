// The learning-rate range test (Smith 2015, as popularized by fastai): train with an
// exponentially growing rate, watch the loss, and suggest the rate where it falls fastest.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/strings.hpp"
#include "satx/core/files.hpp"
#include "satx/train/plan.hpp"
#include "satx/train/trainer.hpp"
#include "train/detail/session.hpp"

namespace fs = std::filesystem;

namespace satx::train {

void suggest_learning_rate(LrFindResult& result) {
  const auto& lrs = result.learning_rates;
  const auto& loss = result.smoothed_losses;
  const size_t n = loss.size();
  if (n < 3) {
    result.suggested = result.min_loss_lr = n ? lrs[0] : 0;
    return;
  }
  const size_t minimum = static_cast<size_t>(std::min_element(loss.begin(), loss.end()) - loss.begin());
  result.min_loss_lr = lrs[minimum];
  const size_t skip = std::min<size_t>(n / 10, 5);
  double steepest = 0;
  size_t best = minimum;
  for (size_t i = std::max<size_t>(skip, 1); i + 1 < n && i <= minimum; ++i) {
    const double slope = (loss[i + 1] - loss[i - 1]) / (std::log(lrs[i + 1]) - std::log(lrs[i - 1]));
    if (slope < steepest) {
      steepest = slope;
      best = i;
    }
  }
  // No descent at all: a tenth of the minimum's rate is the usual fallback.
  result.suggested = steepest < 0 ? lrs[best] : result.min_loss_lr / 10;
}

LrFindResult lr_find(const TrainOptions& given, const Context& context) {
  TrainOptions options = given;
  options.lr_find.enabled = true;
  const TrainPlan plan = make_plan(options, context);
  detail::Session session(plan, context, /*resuming=*/false);
  const auto& p = plan.options.phases;

  // The test is about phase 2, whose head has already been trained in phase 1.
  if (plan.weights.from.empty() && !plan.weights.random_init && p.head_epochs > 0) {
    session.begin_phase(detail::Phase::Head);
    ScheduleOptions head_schedule = plan.options.schedule;
    if (head_schedule.kind == ScheduleKind::Plateau) head_schedule.kind = ScheduleKind::Constant;
    LrSchedule schedule(head_schedule, ScheduleShape{session.steps_per_epoch(detail::Phase::Head), p.head_epochs});
    for (int epoch = 0; epoch < p.head_epochs; ++epoch)
      session.train_epoch(detail::Phase::Head, epoch, p.head_epochs, epoch, schedule, p.head_lr);
    session.end_phase(detail::Phase::Head);
  }

  session.begin_phase(detail::Phase::Full);
  LrFindResult result;
  const auto& range = plan.options.lr_find;
  const int steps = range.steps;
  const double ratio = range.max_lr / range.min_lr;
  double average = 0, best = INFINITY;
  constexpr double beta = 0.98;
  ProgressEvent event;
  event.kind = ProgressEvent::Kind::Stage;
  event.phase = "lr-find";
  event.label = "lr-find";
  event.steps = steps;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) {
    const double lr = range.min_lr * std::pow(ratio, static_cast<double>(i) / (steps - 1));
    const double loss = session.lr_find_step(lr, i);
    average = beta * average + (1 - beta) * (std::isfinite(loss) ? loss : 1e30);
    const double smoothed = average / (1 - std::pow(beta, i + 1));
    result.learning_rates.push_back(lr);
    result.losses.push_back(loss);
    result.smoothed_losses.push_back(smoothed);
    best = std::min(best, smoothed);
    event.step = i + 1;
    event.seconds = seconds_since(start);
    event.metrics = {{"lr", lr}, {"loss", smoothed}};
    session.emit(event);
    if (!std::isfinite(loss) || (i > steps / 10 && smoothed > 4 * best)) {
      result.diverged = true;
      break;
    }
  }
  session.end_phase(detail::Phase::Full);
  suggest_learning_rate(result);
  return result;
}

void write_lr_find_outputs(const LrFindResult& result, const fs::path& csv, const fs::path& png) {
  const size_t n = result.learning_rates.size();
  if (!csv.empty()) {
    std::string text = "lr,loss,smoothed_loss\n";
    char row[128];
    for (size_t i = 0; i < n; ++i) {
      std::snprintf(row, sizeof row, "%.6g,%.6g,%.6g\n", result.learning_rates[i], result.losses[i], result.smoothed_losses[i]);
      text += row;
    }
    write_file_atomic(csv, text);
  }
  if (png.empty() || n < 2) return;

  const int width = 800, height = 500, left = 70, right = 20, top = 30, bottom = 50;
  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const double x_min = std::log10(result.learning_rates.front()), x_max = std::log10(result.learning_rates.back());
  // The y range follows the smoothed curve up to a little above its start, so the divergence
  // spike does not flatten the interesting part.
  const auto& smooth = result.smoothed_losses;
  double y_min = *std::min_element(smooth.begin(), smooth.end());
  double y_max = std::min(*std::max_element(smooth.begin(), smooth.end()), smooth.front() + (smooth.front() - y_min) * 0.5);
  if (!(y_max > y_min)) y_max = y_min + 1;
  const double pad = (y_max - y_min) * 0.05;
  y_min -= pad, y_max += pad;
  auto px = [&](double lr) {
    return left + static_cast<int>((std::log10(lr) - x_min) / std::max(x_max - x_min, 1e-12) * (width - left - right));
  };
  auto py = [&](double loss) {
    const double clamped = std::clamp(loss, y_min, y_max);
    return top + static_cast<int>((y_max - clamped) / (y_max - y_min) * (height - top - bottom));
  };
  const cv::Scalar black(0, 0, 0), grey(190, 190, 190), blue(180, 90, 20), red(40, 40, 220);
  cv::rectangle(canvas, {left, top}, {width - right, height - bottom}, black, 1);
  for (int decade = static_cast<int>(std::ceil(x_min)); decade <= static_cast<int>(std::floor(x_max)); ++decade) {
    const int x = px(std::pow(10.0, decade));
    cv::line(canvas, {x, top}, {x, height - bottom}, cv::Scalar(230, 230, 230), 1);
    cv::putText(canvas, "1e" + std::to_string(decade), {x - 14, height - bottom + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.4, black, 1,
                cv::LINE_AA);
  }
  for (int tick = 0; tick <= 4; ++tick) {
    const double value = y_min + (y_max - y_min) * tick / 4;
    char label[32];
    std::snprintf(label, sizeof label, "%.3g", value);
    cv::putText(canvas, label, {8, py(value) + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.4, black, 1, cv::LINE_AA);
  }
  std::vector<cv::Point> raw, smoothed;
  for (size_t i = 0; i < n; ++i) {
    if (std::isfinite(result.losses[i])) raw.emplace_back(px(result.learning_rates[i]), py(result.losses[i]));
    smoothed.emplace_back(px(result.learning_rates[i]), py(smooth[i]));
  }
  cv::polylines(canvas, raw, false, grey, 1, cv::LINE_AA);
  cv::polylines(canvas, smoothed, false, blue, 2, cv::LINE_AA);
  const int sx = px(result.suggested);
  cv::line(canvas, {sx, top}, {sx, height - bottom}, red, 1, cv::LINE_AA);
  char title[96];
  std::snprintf(title, sizeof title, "suggested lr %.2e", result.suggested);
  cv::putText(canvas, title, {left + 10, top + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.55, red, 1, cv::LINE_AA);
  cv::putText(canvas, "learning rate (log scale)", {width / 2 - 90, height - 12}, cv::FONT_HERSHEY_SIMPLEX, 0.5, black, 1,
              cv::LINE_AA);
  std::vector<uchar> bytes;
  if (!cv::imencode(".png", canvas, bytes)) throw_runtime("encoding the lr-find plot " + png.string());
  write_file_atomic(png, std::string(bytes.begin(), bytes.end()));
}

}  // namespace satx::train
