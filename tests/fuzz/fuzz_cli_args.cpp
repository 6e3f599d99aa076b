// libFuzzer target: satx's command line as a careless script builds it. The input is split into
// arguments at NUL bytes and newlines; they go through what main() does before a command runs:
// normalize_args (single-dash spellings), CLI11 with every command's bindings, and the
// unknown-option check with its suggestions. The only outcomes allowed are a parsed command
// line, satx::Error with exit code 2 (usage), and CLI11's help and version requests; anything
// else (another exception, a crash, a sanitizer report) is a finding. No command body runs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "application.hpp"
#include "cli.hpp"
#include "satx/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> words = {"satx"};
  std::string word;
  for (size_t i = 0; i < size && words.size() < 64; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\0' || c == '\n') {
      words.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(word);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);

  satx::cli::Application application = satx::cli::build_application();
  try {
    satx::cli::parse_arguments(application, satx::cli::normalize_args(static_cast<int>(words.size()), argv.data()));
  } catch (const satx::Error& e) {
    if (e.code() != satx::ErrorCode::Usage) __builtin_trap();
  } catch (const CLI::CallForHelp&) {
  } catch (const CLI::CallForAllHelp&) {
  } catch (const CLI::CallForVersion&) {
  }
  return 0;
}
