#include "satx/predict/inputs.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"
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

// Every image under `root`; special files and broken links named like images are kept (their
// reads fail with a reason in .errors), and so is a subfolder that cannot be listed.
std::vector<std::string> walk(const std::string& root) {
  std::string base = root;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::vector<std::string> paths;
  walk_tree(base, [&](const fs::path& path, TreeEntry entry) {
    if (entry == TreeEntry::Unlistable || (entry == TreeEntry::File && io::has_image_extension(path.string())))
      paths.push_back(path.string());
  });
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
