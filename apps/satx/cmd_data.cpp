// satx data check: lint a folder-per-class dataset and print the report.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <unordered_set>

#include "cli.hpp"
#include "progress.hpp"
#include "satx/core/files.hpp"
#include "satx/data/check.hpp"

namespace satx::cli {

namespace {

struct CheckCommand {
  std::vector<std::string> folders;
  std::string errors_file;
  std::string json_file;
  data::CheckOptions check;
  CommonOptions common;
};

// 18900 -> "18,900".
std::string grouped(int64_t value) {
  std::string digits = std::to_string(value);
  for (int i = static_cast<int>(digits.size()) - 3; i > (value < 0 ? 1 : 0); i -= 3) digits.insert(static_cast<size_t>(i), ",");
  return digits;
}

std::string pad(const std::string& text, size_t width, bool right) {
  if (text.size() >= width) return text;
  return right ? std::string(width - text.size(), ' ') + text : text + std::string(width - text.size(), ' ');
}

void print_lines(const std::string& title, const std::vector<std::string>& lines, size_t limit, const std::string& more) {
  std::cout << title << " (" << lines.size() << ")" << (lines.empty() ? ": none" : ":") << "\n";
  for (size_t i = 0; i < lines.size() && i < limit; ++i) std::cout << "  " << lines[i] << "\n";
  if (lines.size() > limit) std::cout << "  ... and " << lines.size() - limit << " more" << more << "\n";
}

void print_report(const data::CheckReport& report, const CheckCommand& command) {
  std::cout << "satx data check: " << report.splits.size() << " split" << (report.splits.size() == 1 ? "" : "s") << ", "
            << report.classes.size() << " classes, " << grouped(report.images) << " images\n\n";
  size_t name_width = 5;
  for (const auto& name : report.classes) name_width = std::max(name_width, name.size());
  name_width += 2;
  std::vector<size_t> widths;
  std::cout << pad("class", name_width, false);
  for (const auto& split : report.splits) {
    widths.push_back(std::max<size_t>(8, split.name.size() + 2));
    std::cout << pad(split.name, widths.back(), true);
  }
  bool several = report.splits.size() > 1;
  if (several) std::cout << pad("all", 9, true);
  std::cout << "\n";
  for (const auto& name : report.classes) {
    std::cout << pad(name, name_width, false);
    int64_t all = 0;
    for (size_t s = 0; s < report.splits.size(); ++s) {
      const auto& split = report.splits[s];
      auto it = std::find(split.classes.begin(), split.classes.end(), name);
      std::string cell = "-";
      if (it != split.classes.end()) {
        int64_t count = split.class_counts[static_cast<size_t>(it - split.classes.begin())];
        all += count;
        cell = grouped(count);
      }
      std::cout << pad(cell, widths[s], true);
    }
    if (several) std::cout << pad(grouped(all), 9, true);
    std::cout << "\n";
  }
  std::cout << pad("total", name_width, false);
  for (size_t s = 0; s < report.splits.size(); ++s) std::cout << pad(grouped(report.splits[s].images), widths[s], true);
  if (several) std::cout << pad(grouped(report.images), 9, true);
  std::cout << "\n" << pad("max/min", name_width, false);
  for (size_t s = 0; s < report.splits.size(); ++s) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.2f", report.splits[s].imbalance);
    std::cout << pad(ratio, widths[s], true);
  }
  std::cout << "\n";
  int64_t hidden = 0, non_image = 0;
  for (const auto& split : report.splits) {
    hidden += split.skipped_hidden;
    non_image += split.skipped_non_image;
  }
  if (hidden + non_image > 0)
    std::cout << "skipped: " << hidden << " hidden entries, " << non_image << " files without an image extension\n";

  std::cout << "\nformats:\n";
  for (const auto& format : report.formats) std::cout << pad(grouped(format.count), 10, true) << "  " << format.description << "\n";
  if (report.formats.empty()) std::cout << "  (no readable images)\n";

  std::vector<std::string> corrupt, duplicates;
  for (const auto& file : report.corrupt) corrupt.push_back(file.path + ": " + file.reason);
  for (const auto& group : report.duplicates) {
    std::string line = group.across_splits ? "ACROSS SPLITS: " : "within " + group.splits.front() + ": ";
    for (size_t i = 0; i < group.paths.size(); ++i) line += (i ? ", " : "") + group.paths[i];
    duplicates.push_back(line);
  }
  std::string more = command.errors_file.empty() && command.json_file.empty() ? " (-errors=FILE lists them all)" : "";
  std::cout << "\n";
  print_lines("unreadable files", corrupt, 50, more);
  print_lines("identical files", duplicates, 20, command.json_file.empty() ? " (-json=FILE lists them all)" : "");
  // A set, not a scan of the list per error: 100,000 unreadable files once took minutes here.
  const std::unordered_set<std::string> listed(corrupt.begin(), corrupt.end());
  std::vector<std::string> other_errors;
  for (const auto& error : report.errors)
    if (!listed.count(error) && error.rfind("the same image is in", 0) != 0) other_errors.push_back(error);
  if (!other_errors.empty()) print_lines("other errors", other_errors, 20, "");
  print_lines("warnings", report.warnings, 30, command.json_file.empty() ? " (-json=FILE lists them all)" : "");
  std::cout << "\nresult: " << (report.ok() ? "OK" : "FAILED") << " (" << report.errors.size() << " error"
            << (report.errors.size() == 1 ? "" : "s") << ", " << report.warnings.size() << " warning"
            << (report.warnings.size() == 1 ? "" : "s") << ")\n";
}

int run_check(CheckCommand& command) {
  Context context = make_cli_context(command.common);
  std::optional<Progress> progress;
  if (!command.common.quiet)
    command.check.progress = [&](int64_t done, int64_t total) {
      if (!progress) progress.emplace("data check", total, "file", 2000);
      progress->update(done);
    };
  data::CheckReport report = data::check_dataset(command.folders, command.check, context);
  if (progress) progress->finish();
  if (!command.errors_file.empty()) data::write_bad_files(command.errors_file, report.corrupt);
  if (!command.json_file.empty()) write_file_atomic(command.json_file, data::check_report_json(report));
  print_report(report, command);
  return report.ok() ? 0 : exit_code(ErrorCode::BadData);
}

}  // namespace

void setup_data(CLI::App& command, Run& run) {
  auto options = std::make_shared<CheckCommand>();
  CLI::App* check = command.add_subcommand(
      "check", "Lint a dataset: class counts per split, unreadable files, duplicates and leakage, formats, imbalance");
  check->footer("Exit status: 0 when clean (warnings allowed), 3 when it finds unreadable files, the same image in\n"
                "two splits, or splits with different classes.");
  check->add_option("--data,-d", options->folders,
                    "Dataset folder: one sub-folder per class, or a folder of train/valid/test splits (repeatable)")
      ->required()
      ->allow_extra_args(false)
      ->group("Data");
  check->add_option("--errors", options->errors_file, "Write unreadable files to FILE, one 'path<TAB>reason' per line")->group("Output");
  check->add_option("--json", options->json_file, "Write the full report to FILE as JSON")->group("Output");
  check->add_option("--few-images", options->check.few_images_warning, "Warn about classes with fewer images than this")->group("Checks");
  check->add_option("--imbalance", options->check.imbalance_warning, "Warn when a split's largest class has this many times the images of its smallest")->group("Checks");
  add_common_options(*check, options->common);
  run = [check, options] {
    if (!check->parsed()) throw_usage("'satx data' needs a subcommand: check (see 'satx data --help')");
    return run_check(*options);
  };
}

}  // namespace satx::cli
