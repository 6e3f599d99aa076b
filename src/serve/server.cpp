#include "satx/serve/server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <thread>

#include <sys/socket.h>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/serve/metrics.hpp"

namespace satx::serve {

using json = nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";

// The start of the request this HTTP thread is answering: set before routing, read by the
// access logger, which httplib calls on the same thread once the answer is written.
thread_local std::chrono::steady_clock::time_point request_start;

std::string route_label(const std::string& path) {
  for (const char* known : {"/v1/predict", "/healthz", "/readyz", "/metrics"})
    if (path == known) return known;
  return "other";  // one label for every unknown path keeps the metric's cardinality bounded
}

std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }), type.end());
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type;
}

bool image_media_type(const std::string& type) {
  static const char* accepted[] = {"image/jpeg", "image/jpg", "image/png", "image/tiff", "image/bmp", "image/webp",
                                   "application/octet-stream"};
  return std::find(std::begin(accepted), std::end(accepted), type) != std::end(accepted);
}

void answer_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}, {"status", status}}.dump() + "\n", kJson);
}

// One image of a request, with where it failed if it did.
struct Part {
  std::string field, filename, content_type;
  const std::string* body = nullptr;
  int status = 200;
  std::string error;
  std::shared_ptr<BatchJob> job;
};

json scored_json(const ServedModel& model, const torch::Tensor& probabilities, int topk) {
  const auto& classes = model.metadata().classes;
  const int64_t label = infer::decide_labels(probabilities.unsqueeze(0), model.threshold)[0].item<int64_t>();
  const auto p = probabilities.accessor<float, 1>();  // one read per class, not a tensor op each
  json out = {{"label", classes[static_cast<size_t>(label)]}, {"score", p[label]}};
  if (model.threshold) out["threshold"] = *model.threshold;
  std::vector<size_t> order(classes.size());
  for (size_t c = 0; c < order.size(); ++c) order[c] = c;
  if (topk > 0) {
    const size_t k = std::min(order.size(), static_cast<size_t>(topk));
    // Ties keep class order, as the most probable class does in decide_labels.
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
    json list = json::array();
    for (size_t i = 0; i < k; ++i) list.push_back({{"label", classes[order[i]]}, {"probability", p[order[i]]}});
    out["top"] = list;
  } else {
    json all = json::object();
    for (size_t c : order) all[classes[c]] = p[c];
    out["probabilities"] = all;
  }
  return out;
}

}  // namespace

void check_serve_options(const ServeOptions& options) {
  check_batcher_options(options.batching);
  if (options.port < 0 || options.port > 65535)
    throw_option("port", "must be in [0, 65535] (0 = any free port), got " + std::to_string(options.port));
  if (options.http_threads < 1 || options.http_threads > 4096)
    throw_option("http_threads", "must be in [1, 4096], got " + std::to_string(options.http_threads));
  if (options.max_pixels < 1) throw_option("max_pixels", "must be >= 1, got " + std::to_string(options.max_pixels));
  if (options.max_body < 1) throw_option("max_body", "must be >= 1, got " + std::to_string(options.max_body));
  if (options.reload_check_ms < 0)
    throw_option("reload_check_ms", "must be >= 0 (0 = never), got " + std::to_string(options.reload_check_ms));
}

struct Server::Impl {
  ServeOptions options;
  Context context;
  ModelSlot slot;
  ServerMetrics metrics;
  Batcher batcher;
  httplib::Server http;
  std::atomic<bool> draining{false};
  std::atomic<bool> running{false}, finished{false};
  int listen_socket = -1;

  std::mutex reload_mutex;  // one reload at a time
  std::mutex watch_mutex;
  std::condition_variable watch_changed;
  bool reload_requested = false, watch_stopping = false;
  std::filesystem::file_time_type last_seen_mtime;
  std::thread watcher;

  Impl(ServeOptions o, Context c)
      : options(std::move(o)),
        context(std::move(c)),
        slot(load_served_model(options.model, context.device, options.engine)),
        batcher(options.batching, [this](size_t tiles) { metrics.batch(tiles); }) {
    last_seen_mtime = slot.get()->mtime;
    set_up_routes();
    watcher = std::thread([this] { watch(); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(watch_mutex);
      watch_stopping = true;
    }
    watch_changed.notify_all();
    watcher.join();
  }

  void set_up_routes() {
    const int threads = options.http_threads;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    http.set_payload_max_length(static_cast<size_t>(options.max_body));
    // httplib's default adds SO_REUSEPORT, which lets a second server bind a port already
    // serving and silently take half its connections: a port in use must be an error.
    http.set_socket_options([this](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listen_socket = sock;
    });
    // httplib closes a connection after 5 requests by default: under load every fifth request
    // would pay for a new connection.
    http.set_keep_alive_max_count(1000);
    http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
      request_start = std::chrono::steady_clock::now();
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // httplib answers some problems itself (413 for a body over -max-body, 404, 400 for a
    // malformed request) with an empty body: every error is JSON, like the handlers' own.
    http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      std::string message = res.status == 413 ? "request body too large (-max-body)"
                            : res.status == 404 ? "no such route: POST /v1/predict, GET /healthz, /readyz or /metrics"
                                                : "the request could not be read as HTTP";
      answer_error(res, res.status, message);
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      context.log->error("internal error: {}", what);
      answer_error(res, 500, "internal error: " + what);
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start).count();
      metrics.request(route_label(req.path), res.status, seconds);
      context.log->info("{} \"{} {}\" {} {} {:.1f} ms", req.remote_addr, req.method, req.path, res.status, res.body.size(),
                        seconds * 1000);
    });
    http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"alive"})" "\n", kJson);
    });
    http.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      const auto model = slot.get();
      if (draining) return answer_error(res, 503, "draining: shutting down");
      res.set_content(json{{"status", "ready"}, {"model", model->version}}.dump() + "\n", kJson);
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
    });
    http.Post("/v1/predict", [this](const httplib::Request& req, httplib::Response& res) { predict(req, res); });
  }

  std::string metrics_text() const {
    const auto model = slot.get();
    return metrics.text(batcher.depth(), model->version, model->path.string());
  }

  void predict(const httplib::Request& req, httplib::Response& res) {
    const auto model = slot.get();
    int topk = 0;
    if (req.has_param("topk")) {
      const std::string text = req.get_param_value("topk");
      try {
        size_t used = 0;
        topk = std::stoi(text, &used);
        if (used != text.size() || topk < 1) throw std::invalid_argument(text);
      } catch (const std::exception&) {
        return answer_error(res, 400, "topk must be a whole number >= 1, got '" + text + "'");
      }
    }
    const bool multipart = req.is_multipart_form_data();
    std::vector<Part> parts;
    if (multipart) {
      for (const auto& [field, file] : req.files) parts.push_back({field, file.filename, file.content_type, &file.content});
      if (parts.empty()) return answer_error(res, 400, "the multipart request holds no images");
    } else {
      const std::string type = media_type(req.get_header_value("Content-Type"));
      if (!image_media_type(type))
        return answer_error(res, 415,
                            (type.empty() ? std::string("no Content-Type") : "Content-Type " + type + " is not an image") +
                                ": send image/jpeg, image/png or image/tiff (curl -H 'Content-Type: image/jpeg' "
                                "--data-binary @tile.jpg), or multipart/form-data");
      if (req.body.empty()) return answer_error(res, 400, "empty body: send the image's bytes");
      parts.push_back({"", "", type, &req.body});
    }
    if (parts.size() > static_cast<size_t>(options.batching.max_queue))
      return answer_error(res, 413, std::to_string(parts.size()) + " images in one request; the queue holds " +
                                        std::to_string(options.batching.max_queue) + " (-max-queue)");
    std::vector<std::shared_ptr<BatchJob>> jobs;
    for (auto& part : parts) {
      if (multipart && !part.content_type.empty() && !image_media_type(media_type(part.content_type))) {
        part.status = 415;
        part.error = "Content-Type " + media_type(part.content_type) + " is not an image";
      } else if (part.body->empty()) {
        part.status = 400;
        part.error = "empty image";
      } else {
        DecodedBody decoded = decode_body(*model, *part.body, options.max_pixels);
        if (!decoded.error.empty()) {
          part.status = decoded.too_large ? 413 : 422;
          part.error = decoded.too_large ? decoded.error + " (-max-pixels)" : decoded.error;
        } else {
          part.job = std::make_shared<BatchJob>();
          part.job->model = model;
          part.job->tile = std::move(decoded.tile);
          jobs.push_back(part.job);
        }
      }
    }
    if (!multipart && !parts[0].job) return answer_error(res, parts[0].status, parts[0].error);
    if (!batcher.submit(jobs)) {
      res.set_header("Retry-After", "1");
      return answer_error(res, 503, "busy: the queue is full (-max-queue " + std::to_string(options.batching.max_queue) +
                                        "); retry after a second");
    }
    metrics.images(jobs.size());
    json results = json::array();
    for (auto& part : parts) {
      json item = part.job ? scored_json(*model, part.job->probabilities.get_future().get(), topk)
                           : json{{"error", part.error}, {"status", part.status}};
      if (!multipart) {
        item["model"] = model->version;
        res.set_content(item.dump() + "\n", kJson);
        return;
      }
      item["field"] = part.field;
      if (!part.filename.empty()) item["filename"] = part.filename;
      results.push_back(item);
    }
    res.set_content(json{{"model", model->version}, {"results", results}}.dump() + "\n", kJson);
  }

  bool reload() {
    std::lock_guard<std::mutex> lock(reload_mutex);
    const auto old = slot.get();
    std::error_code ignored;
    {
      std::lock_guard<std::mutex> watch_lock(watch_mutex);
      last_seen_mtime = std::filesystem::last_write_time(options.model, ignored);
    }
    try {
      auto fresh = load_served_model(options.model, context.device, options.engine);
      slot.set(fresh);
      metrics.reload(true);
      context.log->info("reloaded {}: version {} (was {})", options.model.string(), fresh->version, old->version);
      return true;
    } catch (const std::exception& error) {
      metrics.reload(false);
      context.log->error("reload of {} failed, still serving version {}: {}", options.model.string(), old->version,
                         error.what());
      return false;
    }
  }

  // The reload thread: a requested reload (SIGHUP), or the model file's time stamp changed.
  void watch() {
    std::unique_lock<std::mutex> lock(watch_mutex);
    while (!watch_stopping) {
      const auto period = std::chrono::milliseconds(options.reload_check_ms > 0 ? options.reload_check_ms : 3600000);
      watch_changed.wait_for(lock, period, [this] { return reload_requested || watch_stopping; });
      if (watch_stopping) return;
      bool due = reload_requested;
      reload_requested = false;
      if (!due && options.reload_check_ms > 0) {
        std::error_code missing;
        const auto mtime = std::filesystem::last_write_time(options.model, missing);
        due = !missing && mtime != last_seen_mtime;
      }
      if (!due) continue;
      lock.unlock();
      reload();
      lock.lock();
    }
  }
};

Server::Server(ServeOptions options, Context context) {
  check_serve_options(options);
  if (!context.log) context.log = null_logger();
  impl_ = std::make_unique<Impl>(std::move(options), std::move(context));
}

Server::~Server() = default;

int Server::bind() {
  auto& o = impl_->options;
  const int port = o.port == 0 ? impl_->http.bind_to_any_port(o.host) : (impl_->http.bind_to_port(o.host, o.port) ? o.port : -1);
  // httplib 0.11 listens with a backlog of 5, compiled in: connections beyond it sat in the
  // kernel for a SYN retry (1 to 3 s at the 99th percentile under 64 connections). listen()
  // again on the bound socket raises it.
  if (port >= 0 && impl_->listen_socket >= 0) ::listen(impl_->listen_socket, SOMAXCONN);
  if (port < 0)
    throw_runtime("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                  " (the port is taken, or the host is not an address of this machine)");
  return port;
}

void Server::run() {
  impl_->running = true;
  if (!impl_->draining) impl_->http.listen_after_bind();
  impl_->finished = true;
}

void Server::stop() {
  impl_->draining = true;
  // httplib's stop() only reaches a server already listening: a stop that races the start
  // waits (briefly) for it.
  for (int i = 0; i < 2000 && impl_->running && !impl_->finished && !impl_->http.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->http.stop();
}

void Server::request_reload() {
  {
    std::lock_guard<std::mutex> lock(impl_->watch_mutex);
    impl_->reload_requested = true;
  }
  impl_->watch_changed.notify_all();
}

bool Server::reload() { return impl_->reload(); }

std::string Server::model_version() const { return impl_->slot.get()->version; }

std::string Server::metrics_text() const { return impl_->metrics_text(); }

}  // namespace satx::serve
