// The satx serve process under load: SIGHUP reloads without failing a request, SIGTERM drains
// (every answer a client gets is a 200, then connections are refused) and exits 0.
#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include "support/test_support.hpp"
#include "support/tiny_model.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Starts `satx serve` with stdout and stderr into `log`.
pid_t start_server(const std::string& model, const std::string& log) {
  // Everything the child needs is built before fork(): between fork and exec a child of a
  // threaded process may only make async-signal-safe calls (no malloc).
  const std::string model_flag = "-model=" + model;
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(SATX_BINARY, "satx", "serve", model_flag.c_str(), "-port=0", "-reload-check-ms=0", "-threads=2",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits up to `seconds` for `text` in the log; returns the log.
std::string wait_for_log(const std::string& log, const std::string& text, double seconds) {
  std::string content;
  for (const auto end = Clock::now() + std::chrono::duration<double>(seconds); Clock::now() < end;) {
    content = satx::testing::read_text(log);
    if (content.find(text) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return content;
}

}  // namespace

TEST(ServeProcess, SighupReloadsAndSigtermDrainsUnderLoad) {
  satx::testing::TempDir dir;
  const auto model = dir / "model.safetensors";
  satx::testing::write_tiny_model(model, dir / "data", {"a", "b"}, 2, 32, false);
  const std::string png = satx::testing::read_text(satx::testing::tiny_tile_paths(dir / "data", {"a", "b"}, 2)[0]);
  const std::string log = (dir / "serve.log").string();

  const pid_t pid = start_server(model.string(), log);
  std::string text = wait_for_log(log, "/v1/predict:", 60);
  const auto at = text.find("http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << text;
  const int port = std::stoi(text.substr(at + 17));

  std::atomic<int> ok{0}, refused{0}, other{0};
  std::atomic<bool> go_on{true};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&] {
      while (go_on) {
        httplib::Client client("127.0.0.1", port);
        const auto result = client.Post("/v1/predict", png, "image/png");
        if (!result) {
          ++refused;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } else {
          (result->status == 200 ? ok : other)++;
        }
      }
    });
  while (ok < 10) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  ASSERT_EQ(kill(pid, SIGHUP), 0);
  text = wait_for_log(log, "reloaded", 30);
  EXPECT_NE(text.find("reloaded"), std::string::npos) << text;
  const int before_stop = ok;
  while (ok < before_stop + 10) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  pid_t done = 0;
  for (const auto end = Clock::now() + std::chrono::seconds(30); done == 0 && Clock::now() < end;) {
    done = waitpid(pid, &status, WNOHANG);
    if (done == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done == 0) kill(pid, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  go_on = false;
  for (auto& client : clients) client.join();

  ASSERT_EQ(done, pid) << "satx serve did not exit within 30 s of SIGTERM";
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  text = satx::testing::read_text(log);
  EXPECT_NE(text.find("SIGTERM: finishing the accepted requests"), std::string::npos) << text;
  EXPECT_NE(text.find("stopped: every accepted request was answered"), std::string::npos) << text;
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(refused.load(), 0);
}
