#pragma once
/// `satx serve`: a model behind HTTP. Routes: `POST /v1/predict` (one image as the body, or
/// several as multipart/form-data), `GET /healthz`, `GET /readyz`, `GET /metrics`. Requests are
/// decoded on the HTTP threads and scored in dynamic batches (batcher.hpp); the model reloads
/// atomically. docs/serve.md documents the protocol.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "satx/core/context.hpp"
#include "satx/infer/engine.hpp"
#include "satx/serve/batcher.hpp"

namespace satx::serve {

/// How the server runs.
struct ServeOptions {
  std::filesystem::path model;            ///< the model file (.safetensors written by satx)
  std::string host = "127.0.0.1";         ///< the address to bind; 0.0.0.0 for every interface
  int port = 8080;                        ///< 0 picks a free port (bind() says which)
  BatcherOptions batching;
  int http_threads = 64;                  ///< connections served at once (each decodes its images)
  int64_t max_pixels = 4096LL * 4096LL;   ///< larger images are refused (413)
  int64_t max_body = 32LL << 20;          ///< larger request bodies are refused (413)
  int reload_check_ms = 1000;             ///< how often the model file is checked for a change (0 = never)
  infer::EngineOptions engine;
};

/// Usage errors naming the field for values outside their ranges.
void check_serve_options(const ServeOptions& options);

/// The server. Thread-safe: stop() and request_reload() may be called from any thread.
class Server {
 public:
  /// Loads and warms up the model (BadData naming the file when it is not a satx model).
  Server(ServeOptions options, Context context);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds host:port and returns the port; Io error when the address is taken or invalid.
  int bind();
  /// Answers requests until stop(), then returns once every accepted request is answered.
  void run();
  /// Refuses new connections and lets run() return after the accepted ones are answered.
  void stop();
  /// Asks for the model file to be loaded again (done on the reload thread).
  void request_reload();
  /// Loads the model file again now: true when the new model serves, false when it could not
  /// be loaded (the old one keeps serving, the log says why).
  bool reload();
  /// The served model's version (the first 12 hex digits of its file's SHA-256).
  std::string model_version() const;
  /// The `/metrics` text.
  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace satx::serve
