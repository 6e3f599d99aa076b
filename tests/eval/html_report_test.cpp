// eval::render_html_report on synthetic runs: every section, escaping, nothing fetched, the size
// cap for large runs, and a tuning folder's leaderboard.
#include <cmath>
#include <random>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "satx/core/error.hpp"
#include "satx/eval/html_report.hpp"
#include "satx/eval/metrics.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using namespace satx::eval;
using satx::testing::TempDir;
using satx::testing::write_text;

namespace {

// Random noise is the worst case for JPEG, so thumbnails of it bound the page size from above.
void write_noise_image(const fs::path& path, int size, unsigned seed) {
  fs::create_directories(path.parent_path());
  cv::theRNG().state = seed;
  cv::Mat pixels(size, size, CV_8UC3);
  cv::randu(pixels, cv::Scalar::all(0), cv::Scalar::all(255));
  ASSERT_TRUE(cv::imwrite(path.string(), pixels));
}

std::vector<EpochRecord> two_phase_epochs() {
  std::vector<EpochRecord> epochs;
  for (int g = 1; g <= 6; ++g) {
    EpochRecord e;
    e.phase = g <= 2 ? "head" : "full";
    e.epoch = g <= 2 ? g : g - 2;
    e.epochs = g <= 2 ? 2 : 4;
    e.global_epoch = g;
    e.lr = g <= 2 ? 3e-3 : 1e-3 / g;
    e.train_loss = 1.0 / g;
    e.train_accuracy = 1 - 0.5 / g;
    e.val_loss = 1.1 / g;
    e.val_accuracy = 1 - 0.6 / g;
    e.val_macro_f1 = 1 - 0.65 / g;
    e.val_ap = std::nan("");
    e.seconds = 12.5;
    e.improved = g != 4;
    if (g == 4) e.collapse = "validation predicts one class";
    epochs.push_back(e);
  }
  return epochs;
}

satx::models::ModelMetadata metadata(const std::vector<std::string>& classes) {
  satx::models::ModelMetadata m;
  m.arch = "mobilenetv2";
  m.classes = classes;
  m.input_size = 64;
  m.mean = {0.485f, 0.456f, 0.406f};
  m.std = {0.229f, 0.224f, 0.225f};
  m.satx_version = "0.1.0";
  m.training = {{"checkpoint", "best"}, {"epoch", {{"phase", "full"}, {"epoch", 4}, {"global_epoch", 6}}}};
  return m;
}

// A per-tile CSV as eval -predictions writes it, `tiles` rows over `classes`, paths cycling
// through `images`; about one tile in five is wrong.
fs::path write_predictions(const fs::path& csv, const std::vector<std::string>& classes, int tiles,
                           const std::vector<fs::path>& images, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::string text = predictions_csv_header(classes);
  const auto n = static_cast<int>(classes.size());
  for (int i = 0; i < tiles; ++i) {
    const int truth = i % n;
    const int predicted = uniform(random) < 0.8f ? truth : static_cast<int>(random() % static_cast<unsigned>(n));
    std::vector<float> p(classes.size(), 0.0f);
    float rest = 1.0f;
    p[static_cast<size_t>(predicted)] = 0.4f + 0.6f * uniform(random);
    rest -= p[static_cast<size_t>(predicted)];
    for (int c = 0; c < n; ++c)
      if (c != predicted) p[static_cast<size_t>(c)] = rest / static_cast<float>(n - 1);
    text += images[static_cast<size_t>(i) % images.size()].string() + "," + classes[static_cast<size_t>(truth)] + "," +
            classes[static_cast<size_t>(predicted)] + "," + std::to_string(p[static_cast<size_t>(predicted)]);
    for (float value : p) text += "," + std::to_string(value);
    text += "\n";
  }
  write_text(csv, text);
  return csv;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++count;
  return count;
}

void expect_offline(const std::string& html) {
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);  // no CSS fetches either
  EXPECT_EQ(html.find("@import"), std::string::npos);
}

}  // namespace

TEST(HtmlReport, HasEverySectionInOrderForATwoClassRun) {
  TempDir dir;
  std::vector<fs::path> images;
  for (int i = 0; i < 4; ++i) {
    images.push_back(dir / "tiles" / ("t" + std::to_string(i) + ".png"));
    write_noise_image(images.back(), 32, static_cast<unsigned>(i + 1));
  }
  const std::vector<std::string> classes = {"clear", "cloud"};
  HtmlReportInput input;
  RunRecord run;
  run.folder = dir / "run";
  run.epochs = two_phase_epochs();
  run.config = {{"options", {{"train", "data/train"}, {"valid", "data/valid"}, {"lr", 0.001}, {"model", "mobilenetv2"}}},
                {"resolved",
                 {{"classes", classes}, {"train_class_counts", {70, 30}}, {"valid_class_counts", {20, 10}},
                  {"hardware", "cpu: Test CPU, 2 hardware threads (2 used)"}, {"torch_version", "1.13.0"}}}};
  input.run = run;
  input.model = metadata(classes);
  input.model->threshold = 0.3125;
  input.model_path = "run/best.safetensors";
  input.evaluation = read_predictions_csv(write_predictions(dir / "p.csv", classes, 200, images, 3), classes, 0.3125, 24);

  const std::string html = render_html_report(input);
  const std::vector<std::string> ids = {"summary", "curves", "confusion", "per-class", "binary", "gallery", "model-card"};
  EXPECT_EQ(html_report_sections(input), ids);
  size_t last = 0;
  for (const auto& id : ids) {
    const size_t at = html.find("<section id=\"" + id + "\"");
    ASSERT_NE(at, std::string::npos) << id;
    EXPECT_GT(at, last) << id << " is out of order";
    last = at;
  }
  EXPECT_EQ(html.find("id=\"leaderboard\""), std::string::npos);
  expect_offline(html);
  EXPECT_EQ(occurrences(html, "<svg"), 6u);  // loss, accuracy, F1, learning rate; ROC, PR
  EXPECT_NE(html.find("phase: head"), std::string::npos);
  EXPECT_NE(html.find("phase: full"), std::string::npos);
  EXPECT_NE(html.find("collapse, rolled back: validation predicts one class"), std::string::npos);
  EXPECT_NE(html.find("T = 0.312"), std::string::npos);              // the operating point on the curves
  EXPECT_EQ(occurrences(html, "<tr class=\"operating\""), 1u);       // and its row in the threshold table
  EXPECT_NE(html.find("data:image/jpeg;base64,"), std::string::npos);
  EXPECT_NE(html.find("cpu: Test CPU"), std::string::npos);
  EXPECT_NE(html.find("1 min 15 s"), std::string::npos);  // 6 epochs of 12.5 s
}

TEST(HtmlReport, EscapesClassNamesFileNamesAndTitles) {
  TempDir dir;
  const fs::path tile = dir / "<script>alert(1)</script>.png";
  write_noise_image(tile, 16, 1);
  const std::vector<std::string> classes = {"<b>bold</b>", "a&b \"q\" 'x'"};
  HtmlReportInput input;
  input.model = metadata(classes);
  input.evaluation = read_predictions_csv(write_predictions(dir / "p.csv", classes, 20, {tile}, 1), classes, std::nullopt, 5);
  HtmlReportOptions options;
  options.title = "<title>";
  const std::string html = render_html_report(input, options);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_EQ(html.find("<title><title>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;.png"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;bold&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("a&amp;b &quot;q&quot; &#39;x&#39;"), std::string::npos);
}

TEST(HtmlReport, ShowsWhySectionsAreEmptyAndTilesUnreadable) {
  TempDir dir;
  const std::vector<std::string> classes = {"a", "b", "c"};
  HtmlReportInput input;
  input.model = metadata(classes);
  EXPECT_EQ(html_report_sections(input),
            (std::vector<std::string>{"summary", "curves", "confusion", "per-class", "gallery", "model-card"}));
  std::string html = render_html_report(input);
  EXPECT_NE(html.find("No training epochs to plot"), std::string::npos);
  EXPECT_NE(html.find("No scored tiles"), std::string::npos);

  input.evaluation = read_predictions_csv(write_predictions(dir / "p.csv", classes, 30, {dir / "gone.png"}, 2), classes,
                                          std::nullopt, 3);
  html = render_html_report(input);
  EXPECT_NE(html.find("cannot read the tile"), std::string::npos);
  EXPECT_EQ(html.find("data:image/jpeg"), std::string::npos);
}

TEST(HtmlReport, StaysUnderFiveMegabytesFor30ClassesAnd10000Tiles) {
  TempDir dir;
  std::vector<std::string> classes;
  for (int c = 0; c < 30; ++c) classes.push_back("class with a long name " + std::to_string(c));
  std::vector<fs::path> images;
  for (int i = 0; i < 64; ++i) {
    images.push_back(dir / "tiles" / ("tile-" + std::to_string(i) + ".png"));
    write_noise_image(images.back(), 256, static_cast<unsigned>(i + 1));  // shrunk to thumbnails
  }
  HtmlReportInput input;
  input.model = metadata(classes);
  RunRecord run;
  run.folder = dir.path();
  for (int g = 0; g < 100; ++g) {  // a long run
    EpochRecord e = two_phase_epochs()[static_cast<size_t>(g % 6)];
    e.global_epoch = g + 1;
    run.epochs.push_back(e);
  }
  input.run = run;
  const HtmlReportOptions options;
  input.evaluation = read_predictions_csv(write_predictions(dir / "p.csv", classes, 10000, images, 5), classes,
                                          std::nullopt, options.gallery);
  ASSERT_EQ(input.evaluation->report.samples, 10000);
  const std::string html = render_html_report(input, options);
  RecordProperty("bytes", static_cast<int>(html.size()));
  std::printf("30 classes, 10000 tiles: %zu bytes\n", html.size());
  EXPECT_LT(html.size(), 5u * 1024 * 1024);
  EXPECT_EQ(occurrences(html, "<figure>"), 2 * options.gallery);  // capped, errors and unsure alike
  EXPECT_EQ(occurrences(html, "<td style=\"background:"), 30u * 30u);

  // Two classes: the curves over 10,000 distinct scores are thinned.
  const std::vector<std::string> two = {"negative", "positive"};
  input.model = metadata(two);
  input.evaluation = read_predictions_csv(write_predictions(dir / "p2.csv", two, 10000, images, 6), two, std::nullopt,
                                          options.gallery);
  const std::string binary = render_html_report(input, options);
  std::printf("2 classes, 10000 tiles: %zu bytes\n", binary.size());
  EXPECT_LT(binary.size(), 5u * 1024 * 1024);
  EXPECT_NE(binary.find("id=\"binary\""), std::string::npos);
}

TEST(HtmlReport, ListsTheTopLeaderboardRowsWithTheBestHighlighted) {
  TempDir dir;
  const std::vector<std::string> classes = {"a", "b", "c"};
  std::string csv = "rank,trial,status,metric,epochs,seconds,run,lr,head_lr,label_smoothing\n";
  for (int r = 1; r <= 60; ++r) {
    const std::string trial = std::to_string(r + 100);
    const std::string status = r == 60 ? "failed" : r % 7 == 0 ? "stopped" : "finished";
    csv += std::to_string(r) + "," + trial + "," + status + "," + (r == 60 ? "" : std::to_string(0.99 - r * 0.001)) +
           ",4,12.5,trials/trial-" + trial + ",0.001,0.003,0.1\n";
    fs::create_directories(dir / "tune" / "trials" / ("trial-" + trial));
    write_text(dir / "tune" / "trials" / ("trial-" + trial) / "metrics.jsonl",
               "{\"phase\":\"full\",\"epoch\":1,\"epochs\":1,\"global_epoch\":1,\"lr\":0.001,\"train_loss\":0.5,"
               "\"train_accuracy\":0.8,\"val_loss\":0.6,\"val_accuracy\":0." + trial + ",\"val_macro_f1\":0.7}\n");
  }
  write_text(dir / "tune" / "leaderboard.csv", csv);
  fs::create_directory_symlink("trials/trial-101", dir / "tune" / "best");

  HtmlReportInput input;
  input.run = read_run_folder(dir / "tune");
  EXPECT_EQ(input.run->leaderboard->best_row, 0u);
  input.model = metadata(classes);
  const std::vector<std::string> ids = html_report_sections(input);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids[1], "leaderboard");
  const std::string html = render_html_report(input);
  const size_t start = html.find("<section id=\"leaderboard\"");
  ASSERT_NE(start, std::string::npos);
  const std::string section = html.substr(start, html.find("</section>", start) - start);
  EXPECT_EQ(occurrences(section, "<tr"), 1u + 50u);  // the header and the top 50
  EXPECT_EQ(occurrences(section, "<tr class=\"best\""), 1u);
  EXPECT_NE(section.find("<tr class=\"best\" title=\"best trial\"><td>1</td><td>101</td>"), std::string::npos);
  EXPECT_NE(section.find("<th>label_smoothing</th>"), std::string::npos);
  EXPECT_NE(section.find("60 trials"), std::string::npos);
  EXPECT_EQ(section.find("trial-160"), std::string::npos);  // past the cut
  EXPECT_NE(html.find("0.101"), std::string::npos);  // the curves are the best trial's (its val_accuracy)
}

TEST(HtmlReport, RejectsOptionsOutOfRange) {
  HtmlReportInput input;
  HtmlReportOptions options;
  options.thumbnail = 0;
  EXPECT_THROW(render_html_report(input, options), satx::Error);
  options = {};
  options.jpeg_quality = 101;
  EXPECT_THROW(render_html_report(input, options), satx::Error);
}

TEST(HtmlReport, WritesTheFileAtomicallyAndReturnsItsSize) {
  TempDir dir;
  HtmlReportInput input;
  input.model = metadata({"a", "b"});
  const uint64_t bytes = write_html_report(dir / "r.html", input);
  EXPECT_EQ(fs::file_size(dir / "r.html"), bytes);
  for (const auto& entry : fs::directory_iterator(dir.path())) EXPECT_EQ(entry.path().filename(), "r.html");
}
