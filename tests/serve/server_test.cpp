// satx serve over loopback: answers equal the engine's, every bad request gets its 4xx as JSON,
// a full queue 503, a stop answers what was accepted, a reload under load fails no request.
#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/io/image.hpp"
#include "satx/serve/server.hpp"
#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

namespace {

using json = nlohmann::json;
using satx::testing::TempDir;
namespace fs = std::filesystem;

const std::vector<std::string> kClasses = {"field", "forest"};
constexpr int kPerClass = 6;

// A server on an ephemeral loopback port, running on its own thread.
struct LiveServer {
  std::unique_ptr<satx::serve::Server> server;
  int port = 0;
  std::thread thread;

  explicit LiveServer(satx::serve::ServeOptions options) {
    options.port = 0;
    server = std::make_unique<satx::serve::Server>(options, satx::testing::cpu_context(42));
    port = server->bind();
    thread = std::thread([this] { server->run(); });
  }
  ~LiveServer() {
    if (thread.joinable()) {
      server->stop();
      thread.join();
    }
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    return c;
  }
};

struct Fixture {
  TempDir dir;
  fs::path model = dir / "model.safetensors";
  fs::path data = dir / "data";
  std::vector<std::string> paths;

  Fixture() {
    satx::testing::write_tiny_model(model, data, kClasses, kPerClass, 32, true);
    paths = satx::testing::tiny_tile_paths(data, kClasses, kPerClass);
  }
  satx::serve::ServeOptions options() const {
    satx::serve::ServeOptions o;
    o.model = model;
    o.http_threads = 16;
    o.reload_check_ms = 0;
    return o;
  }
};

// The probabilities the inference engine gives each tile on its own.
std::vector<torch::Tensor> reference(const fs::path& model, const std::vector<std::string>& paths) {
  auto engine = satx::testing::cpu_engine(model);
  std::vector<torch::Tensor> out;
  for (const auto& path : paths) {
    const auto tile = satx::io::decode_tile(path);
    const auto pixels = torch::from_blob(tile.pixels.data, {tile.pixels.rows, tile.pixels.cols, 3}, torch::kUInt8);
    out.push_back(engine.probabilities(pixels.permute({2, 0, 1}).unsqueeze(0).contiguous())[0]);
  }
  return out;
}

json body_json(const httplib::Result& result) {
  EXPECT_TRUE(result) << "no response: " << httplib::to_string(result.error());
  return result ? json::parse(result->body) : json();
}

}  // namespace

TEST(Serve, ConcurrentClientsGetTheEnginesAnswers) {
  Fixture f;
  const auto expected = reference(f.model, f.paths);
  auto options = f.options();
  options.batching.max_wait_ms = 20;
  LiveServer live(options);

  std::vector<std::future<int>> clients;
  for (int c = 0; c < 6; ++c)
    clients.push_back(std::async(std::launch::async, [&, c] {
      auto client = live.client();
      int checked = 0;
      for (size_t i = c % 3; i < f.paths.size(); i += 2) {
        const auto result = client.Post("/v1/predict", satx::testing::read_text(f.paths[i]), "image/png");
        if (!result || result->status != 200) {
          ADD_FAILURE() << (result ? result->body : httplib::to_string(result.error()));
          continue;
        }
        const json answer = json::parse(result->body);
        for (size_t k = 0; k < kClasses.size(); ++k)
          EXPECT_NEAR(answer["probabilities"][kClasses[k]].get<double>(), expected[i][static_cast<int64_t>(k)].item<double>(),
                      1e-4)
              << f.paths[i];
        const auto best = expected[i].argmax().item<int64_t>();
        EXPECT_EQ(answer["label"], kClasses[static_cast<size_t>(best)]) << f.paths[i];
        EXPECT_EQ(answer["model"], live.server->model_version());
        ++checked;
      }
      return checked;
    }));
  int checked = 0;
  for (auto& client : clients) checked += client.get();
  EXPECT_EQ(checked, 34);  // clients 0, 1, 3, 4 send 6 tiles, clients 2 and 5 send 5

  // Several images in one multipart request, in order, a bad one answered in its place.
  httplib::MultipartFormDataItems items = {
      {"a", satx::testing::read_text(f.paths[0]), "a.png", "image/png"},
      {"b", "not an image", "b.png", "image/png"},
      {"c", satx::testing::read_text(f.paths[7]), "c.png", ""},
  };
  const json multi = body_json(live.client().Post("/v1/predict?topk=1", items));
  ASSERT_EQ(multi["results"].size(), 3u) << multi.dump();
  EXPECT_EQ(multi["results"][0]["filename"], "a.png");
  EXPECT_EQ(multi["results"][0]["top"].size(), 1u);
  EXPECT_EQ(multi["results"][0]["top"][0]["label"], multi["results"][0]["label"]);
  EXPECT_EQ(multi["results"][1]["status"], 422) << multi.dump();
  EXPECT_EQ(multi["results"][2]["label"], kClasses[static_cast<size_t>(expected[7].argmax().item<int64_t>())]);

  // A request is counted once its answer is written, so the last may lag a moment behind.
  const std::string answered = "satx_requests_total{route=\"/v1/predict\",status=\"200\"} 35\n";
  std::string metrics;
  for (int i = 0; i < 100 && metrics.find(answered) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto result = live.client().Get("/metrics");
    ASSERT_TRUE(result);
    metrics = result->body;
  }
  EXPECT_NE(metrics.find(answered), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("satx_images_total 36"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("satx_model_info{version=\"" + live.server->model_version()), std::string::npos);
  EXPECT_EQ(body_json(live.client().Get("/healthz"))["status"], "alive");
  EXPECT_EQ(body_json(live.client().Get("/readyz"))["status"], "ready");
}

TEST(Serve, EveryBadRequestGetsItsStatusAndAJsonError) {
  Fixture f;
  auto options = f.options();
  options.max_pixels = 40 * 40;
  options.max_body = 64 * 1024;
  LiveServer live(options);
  auto client = live.client();
  const std::string png = satx::testing::read_text(f.paths[0]);

  struct Case {
    std::string what, body, type, path;
    int status;
    std::string says;
  };
  cv::Mat big(64, 64, CV_8UC3, cv::Scalar(10, 20, 30));
  std::vector<uint8_t> big_png;
  cv::imencode(".png", big, big_png);
  const std::vector<Case> cases = {
      {"empty body", "", "image/png", "/v1/predict", 400, "empty body"},
      {"wrong content type", png, "text/plain", "/v1/predict", 415, "text/plain is not an image"},
      {"no content type", png, "", "/v1/predict", 415, "Content-Type"},
      {"not an image", "hello, world", "image/jpeg", "/v1/predict", 422, ""},
      {"truncated", png.substr(0, png.size() / 2), "image/png", "/v1/predict", 422, ""},
      {"too many pixels", std::string(big_png.begin(), big_png.end()), "image/png", "/v1/predict", 413, "-max-pixels"},
      {"too large a body", std::string(100 * 1024, 'x'), "image/png", "/v1/predict", 413, "-max-body"},
      {"bad topk", png, "image/png", "/v1/predict?topk=zero", 400, "topk"},
      {"unknown route", png, "image/png", "/v2/predict", 404, "no such route"},
  };
  for (const auto& c : cases) {
    const auto result = client.Post(c.path, c.body, c.type);
    ASSERT_TRUE(result) << c.what << ": " << httplib::to_string(result.error());
    EXPECT_EQ(result->status, c.status) << c.what << ": " << result->body;
    const json error = json::parse(result->body, nullptr, false);
    ASSERT_FALSE(error.is_discarded()) << c.what << ": not JSON: " << result->body;
    EXPECT_EQ(error["status"], c.status) << c.what;
    EXPECT_NE(error["error"].get<std::string>().find(c.says), std::string::npos) << c.what << ": " << result->body;
  }
  // The server is still there and right.
  const auto good = client.Post("/v1/predict", png, "image/png");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200) << good->body;
}

TEST(Serve, AFullQueueAnswers503WithRetryAfter) {
  Fixture f;
  auto options = f.options();
  options.batching.max_queue = 1;
  options.batching.max_batch = 8;
  options.batching.max_wait_ms = 1500;  // the first tile waits in the queue for company
  LiveServer live(options);
  const std::string png = satx::testing::read_text(f.paths[0]);
  auto first = std::async(std::launch::async, [&] { return live.client().Post("/v1/predict", png, "image/png"); });
  // The first tile waits in the queue (for company that never comes) until its 1.5 s are up.
  for (int i = 0; i < 100 && live.server->metrics_text().find("satx_queue_depth 1\n") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_NE(live.server->metrics_text().find("satx_queue_depth 1\n"), std::string::npos);
  const auto refused = live.client().Post("/v1/predict", png, "image/png");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  const auto answered = first.get();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200) << answered->body;
}

TEST(Serve, StopUnderLoadAnswersEveryAcceptedRequest) {
  Fixture f;
  auto options = f.options();
  options.batching.max_wait_ms = 100;  // requests are waiting in the queue when the stop comes
  LiveServer live(options);
  const std::string png = satx::testing::read_text(f.paths[3]);
  std::atomic<int> ok{0}, other_status{0}, refused{0};
  std::atomic<bool> go_on{true};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&] {
      while (go_on) {
        auto client = live.client();
        const auto result = client.Post("/v1/predict", png, "image/png");
        if (!result) {
          ++refused;  // after the stop: no connection
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } else if (result->status == 200) {
          ++ok;
        } else {
          ++other_status;
        }
      }
    });
  while (ok < 20) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto stop_started = std::chrono::steady_clock::now();
  live.server->stop();
  live.thread.join();
  const double stop_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stop_started).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  go_on = false;
  for (auto& client : clients) client.join();

  EXPECT_LT(stop_seconds, 10.0);
  EXPECT_EQ(other_status.load(), 0);
  EXPECT_GT(refused.load(), 0);
  // Every request the server answered reached its client: none was cut off.
  const std::string metrics = live.server->metrics_text();
  EXPECT_NE(metrics.find("satx_requests_total{route=\"/v1/predict\",status=\"200\"} " + std::to_string(ok.load()) + "\n"),
            std::string::npos)
      << "clients got " << ok << " answers\n" << metrics;
}

TEST(Serve, AReloadUnderLoadFailsNoRequestAndABadFileKeepsTheOldModel) {
  Fixture f;
  auto options = f.options();
  options.reload_check_ms = 50;
  LiveServer live(options);
  const std::string before = live.server->model_version();
  const std::string png = satx::testing::read_text(f.paths[0]);
  std::atomic<int> ok{0}, failed{0};
  std::atomic<bool> go_on{true};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&] {
      auto client = live.client();
      while (go_on) {
        const auto result = client.Post("/v1/predict", png, "image/png");
        (result && result->status == 200 ? ok : failed)++;
      }
    });

  // A new model (other weights), written beside and renamed over the served file.
  const fs::path fresh = f.dir / "fresh.safetensors";
  satx::testing::write_tiny_model(fresh, f.dir / "fresh-data", kClasses, 2, 32, false);
  fs::rename(fresh, f.model);
  for (int i = 0; i < 200 && live.server->model_version() == before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string after = live.server->model_version();
  EXPECT_NE(after, before) << "the changed file was not reloaded";

  // A broken file in its place: the server keeps the model it has.
  satx::testing::write_text(f.model, "this is not a model");
  EXPECT_FALSE(live.server->reload());
  EXPECT_EQ(live.server->model_version(), after);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  go_on = false;
  for (auto& client : clients) client.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_NE(live.server->metrics_text().find("satx_model_reloads_total{result=\"failed\"} "), std::string::npos);
}

TEST(Serve, APortAlreadyServingIsAnError) {
  Fixture f;
  LiveServer first(f.options());
  auto options = f.options();
  options.port = first.port;
  satx::serve::Server second(options, satx::testing::cpu_context(42));
  try {
    second.bind();
    FAIL() << "a second server bound port " << first.port;
  } catch (const satx::Error& error) {
    EXPECT_EQ(error.code(), satx::ErrorCode::Runtime);
    EXPECT_NE(std::string(error.what()).find(std::to_string(first.port)), std::string::npos) << error.what();
  }
}

TEST(Serve, OptionsOutOfRangeAreNamedBeforeTheModelLoads) {
  satx::serve::ServeOptions o;
  o.model = "/nonexistent/model.safetensors";
  o.batching.max_batch = 0;
  try {
    satx::serve::Server server(o, satx::testing::cpu_context(1));
    FAIL() << "no error";
  } catch (const satx::Error& error) {
    EXPECT_EQ(error.code(), satx::ErrorCode::Usage);
    EXPECT_NE(std::string(error.what()).find("max_batch"), std::string::npos) << error.what();
  }
}
