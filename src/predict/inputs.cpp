#include "satx/predict/inputs.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "satx/core/error.hpp"
#include "satx/io/image.hpp"

namespace fs = std::filesystem;

namespace satx::predict {

namespace {

std::vector<std::string> read_list(std::istream& in) {
  std::vector<std::string> paths;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    paths.push_back(line);
  }
  return paths;
}

bool hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.' && name != "." && name != "..";
}

std::vector<std::string> walk(const std::string& root) {
  std::string base = root;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::vector<std::string> paths;
  std::error_code error;
  fs::recursive_directory_iterator it(base, fs::directory_options::skip_permission_denied, error), end;
  if (error) throw_bad_data("reading folder " + root + ": " + error.message());
  for (; it != end; it.increment(error)) {
    if (error) throw_bad_data("reading folder " + root + ": " + error.message());
    if (hidden(it->path())) {
      if (it->is_directory(error)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(error)) continue;
    std::string path = it->path().string();
    if (io::has_image_extension(path)) paths.push_back(std::move(path));
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

std::vector<std::string> collect_inputs(const std::string& input, std::istream& list_stream) {
  if (input == "-") return read_list(list_stream);
  std::error_code error;
  const fs::file_status status = fs::status(input, error);
  if (!fs::exists(status)) throw_option("input", "'" + input + "' does not exist");
  if (fs::is_directory(status)) return walk(input);
  if (io::has_image_extension(input)) return {input};
  std::ifstream list(input);
  if (!list) throw_bad_data("reading list " + input + ": cannot open it");
  return read_list(list);
}

}  // namespace satx::predict
