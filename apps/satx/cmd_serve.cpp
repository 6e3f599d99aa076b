// satx serve: a model behind HTTP with dynamic batching; SIGTERM/SIGINT drain, SIGHUP reloads.
#include <csignal>
#include <cstdlib>
#include <memory>
#include <thread>

#include <pthread.h>

#include "cli.hpp"
#include "option_groups.hpp"
#include "satx/serve/server.hpp"

namespace satx::cli {
namespace {

struct ServeCliOptions {
  serve::ServeOptions serve;
  std::string model;
};

// The signals serve handles; SIGUSR2 tells the signal thread the server has stopped.
sigset_t serve_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&set, signal);
  return set;
}

// Signals arrive on one thread that waits for them, so reacting may take locks and log; every
// other thread blocks them (run_serve blocks them before the server starts its threads).
class SignalThread {
 public:
  SignalThread(serve::Server& server, spdlog::logger& log) : set_(serve_signals()) {
    thread_ = std::thread([this, &server, &log] {
      bool draining = false;
      while (true) {
        int signal = 0;
        if (sigwait(&set_, &signal) != 0 || signal == SIGUSR2) return;
        if (signal == SIGHUP) {
          log.info("SIGHUP: reloading the model");
          server.request_reload();
        } else if (!draining) {
          log.info("{}: finishing the accepted requests, refusing new ones", signal == SIGINT ? "SIGINT" : "SIGTERM");
          draining = true;
          server.stop();
        } else {
          log.warn("second {}: quitting without waiting for the accepted requests", signal == SIGINT ? "SIGINT" : "SIGTERM");
          std::_Exit(1);
        }
      }
    });
  }
  ~SignalThread() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }

 private:
  sigset_t set_;
  std::thread thread_;
};

int run_serve(ServeCliOptions& o, const CommonOptions& common) {
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not end the server
  Context context = make_cli_context(common);
  o.serve.model = o.model;
  serve::check_serve_options(o.serve);
  const sigset_t blocked = serve_signals();
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  serve::Server server(o.serve, context);
  const int port = server.bind();
  SignalThread signals(server, *context.log);
  context.log->info("serving {} (version {}) on http://{}:{}/v1/predict: batches of up to {} tiles within {} ms, "
                    "queue {}, {} connection threads",
                    o.model, server.model_version(), o.serve.host, port, o.serve.batching.max_batch,
                    o.serve.batching.max_wait_ms, o.serve.batching.max_queue, o.serve.http_threads);
  server.run();
  context.log->info("stopped: every accepted request was answered");
  return 0;
}

}  // namespace

void setup_serve(CLI::App& command, Run& run) {
  auto options = std::make_shared<ServeCliOptions>();
  auto common = std::make_shared<CommonOptions>();
  auto& o = *options;
  auto& s = o.serve;
  command.add_option("--model,-m", o.model, "Model file (.safetensors written by satx train); reloaded when it changes")
      ->required()->group("Model");
  command.add_option("--reload-check-ms", s.reload_check_ms,
                     "How often to check the model file for a change and reload it (0 = only on SIGHUP)")
      ->capture_default_str()->group("Model");
  command.add_option("--host", s.host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str()->group("HTTP");
  command.add_option("--port,-p", s.port, "Port to listen on (0: any free port, logged)")->capture_default_str()->group("HTTP");
  command.add_option("--http-threads", s.http_threads, "Connections served at once; each decodes its own images")
      ->capture_default_str()->group("HTTP");
  command.add_option("--max-body", s.max_body, "Largest request body in bytes (413 above)")->capture_default_str()->group("HTTP");
  command.add_option("--max-pixels", s.max_pixels, "Largest image in pixels, width x height (413 above)")
      ->capture_default_str()->group("HTTP");
  command.add_option("--max-batch", s.batching.max_batch, "Tiles per forward pass at most")->capture_default_str()->group("Batching");
  command.add_option("--max-wait-ms", s.batching.max_wait_ms, "How long a tile waits for others to fill its batch")
      ->capture_default_str()->group("Batching");
  command.add_option("--max-queue", s.batching.max_queue, "Tiles waiting at most; when full, requests get 503 with Retry-After")
      ->capture_default_str()->group("Batching");
  bind_engine_options(command, s.engine);
  add_common_options(command, *common);
  run = [options, common] { return run_serve(*options, *common); };
}

}  // namespace satx::cli
