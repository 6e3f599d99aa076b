#include "satx/serve/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace satx::serve {

namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", value);
  return text;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Histogram::observe(double value) {
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++counts_[static_cast<size_t>(bucket)];
  sum_ += value;
  ++count_;
}

std::string Histogram::text(const std::string& name) const {
  std::string out;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
  return out;
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

ServerMetrics::ServerMetrics()
    : latency_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}),
      batch_size_({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}) {}

void ServerMetrics::request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
  latency_.observe(seconds);
}

void ServerMetrics::batch(size_t tiles) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_size_.observe(static_cast<double>(tiles));
}

void ServerMetrics::images(size_t count) {
  std::lock_guard<std::mutex> lock(mutex_);
  images_ += count;
}

void ServerMetrics::reload(bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++(ok ? reloads_ok_ : reloads_failed_);
}

std::string ServerMetrics::text(size_t queue_depth, const std::string& model_version, const std::string& model_path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  header(out, "satx_requests_total", "counter", "Requests answered, by route and HTTP status.");
  for (const auto& [key, count] : requests_)
    out += "satx_requests_total{route=\"" + escape_label(key.first) + "\",status=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(count) + "\n";
  header(out, "satx_request_duration_seconds", "histogram", "Time from a request's arrival to its answer.");
  out += latency_.text("satx_request_duration_seconds");
  header(out, "satx_batch_size", "histogram", "Tiles per forward pass.");
  out += batch_size_.text("satx_batch_size");
  header(out, "satx_images_total", "counter", "Images scored.");
  out += "satx_images_total " + std::to_string(images_) + "\n";
  header(out, "satx_queue_depth", "gauge", "Tiles waiting for a forward pass.");
  out += "satx_queue_depth " + std::to_string(queue_depth) + "\n";
  header(out, "satx_model_info", "gauge", "The model being served (version: the first 12 hex digits of its SHA-256).");
  out += "satx_model_info{version=\"" + escape_label(model_version) + "\",path=\"" + escape_label(model_path) + "\"} 1\n";
  header(out, "satx_model_reloads_total", "counter", "Model reloads, by result (a failed one keeps the old model).");
  out += "satx_model_reloads_total{result=\"ok\"} " + std::to_string(reloads_ok_) + "\n";
  out += "satx_model_reloads_total{result=\"failed\"} " + std::to_string(reloads_failed_) + "\n";
  return out;
}

}  // namespace satx::serve
