#include "satx/data/sample.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "satx/core/error.hpp"

namespace fs = std::filesystem;

namespace satx::data {

namespace {

// Portable randomness: mt19937_64 is fully specified, the std distributions are not.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  double uniform(double low, double high) { return low + (high - low) * double(engine_() >> 11) * 0x1.0p-53; }
  int integer(int low, int high) { return low + static_cast<int>(engine_() % static_cast<uint64_t>(high - low + 1)); }
  uint64_t bits() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

// Colours are BGR, as cv::imwrite expects.
cv::Scalar jitter(Random& random, cv::Scalar colour, double amount) {
  for (int c = 0; c < 3; ++c) colour[c] = std::clamp(colour[c] + random.uniform(-amount, amount), 0.0, 255.0);
  return colour;
}

// Smooth blobs: random values on a coarse grid, enlarged with cubic interpolation.
cv::Mat blobs(Random& random, int size, int cells, double amplitude) {
  cv::Mat coarse(cells, cells, CV_32F);
  cv::RNG rng(random.bits());
  rng.fill(coarse, cv::RNG::UNIFORM, -amplitude, amplitude);
  cv::Mat smooth;
  cv::resize(coarse, smooth, cv::Size(size, size), 0, 0, cv::INTER_CUBIC);
  return smooth;
}

void add_plane(cv::Mat& image, const cv::Mat& plane, cv::Scalar weights) {
  cv::Mat channels[3];
  cv::split(image, channels);
  for (int c = 0; c < 3; ++c) {
    cv::Mat as_float;
    channels[c].convertTo(as_float, CV_32F);
    as_float += plane * weights[c];
    as_float.convertTo(channels[c], CV_8U);
  }
  cv::merge(channels, 3, image);
}

void stripes(cv::Mat& image, Random& random, cv::Scalar a, cv::Scalar b, int spacing) {
  int size = image.cols;
  double angle = random.uniform(0, M_PI);
  cv::Point2d direction(std::cos(angle), std::sin(angle)), normal(-direction.y, direction.x);
  cv::Point2d centre(size / 2.0, size / 2.0);
  for (int k = -size; k <= size; k += spacing) {
    cv::Point2d middle = centre + normal * k;
    cv::line(image, middle - direction * (2.0 * size), middle + direction * (2.0 * size), (k / spacing) % 2 ? a : b,
             std::max(1, spacing / 2), cv::LINE_AA);
  }
}

cv::Mat draw_tile(const std::string& kind, int size, Random& random) {
  cv::Mat image(size, size, CV_8UC3);
  double scale = size / 64.0;
  if (kind == "fields") {
    image.setTo(jitter(random, {60, 140, 110}, 15));
    stripes(image, random, jitter(random, {50, 160, 90}, 20), jitter(random, {70, 150, 180}, 20),
            std::max(4, static_cast<int>(random.integer(6, 12) * scale)));
  } else if (kind == "forest") {
    image.setTo(jitter(random, {35, 85, 30}, 8));
    add_plane(image, blobs(random, size, 8, 25), {0.6, 1.0, 0.5});
  } else if (kind == "water") {
    image.setTo(jitter(random, {130, 80, 35}, 12));
    add_plane(image, blobs(random, size, 2, 15), {1.0, 0.6, 0.3});
  } else if (kind == "urban") {
    image.setTo(jitter(random, {125, 125, 130}, 10));
    for (int i = 0; i < 14; ++i) {
      cv::Point corner(random.integer(0, size - 1), random.integer(0, size - 1));
      cv::Size extent(random.integer(3, 12) * scale, random.integer(3, 12) * scale);
      double grey = random.uniform(70, 220);
      cv::Scalar roof = random.integer(0, 3) == 0 ? jitter(random, {70, 80, 170}, 20) : cv::Scalar(grey, grey, grey + 5);
      cv::rectangle(image, cv::Rect(corner, extent), roof, cv::FILLED);
    }
  } else if (kind == "desert") {
    image.setTo(jitter(random, {120, 180, 215}, 10));
    cv::Mat dunes(size, size, CV_32F);
    double period = random.uniform(10, 20) * scale, phase = random.uniform(0, 2 * M_PI), tilt = random.uniform(-0.5, 0.5);
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) dunes.at<float>(y, x) = static_cast<float>(18 * std::sin((x + tilt * y) / period * 2 * M_PI + phase));
    add_plane(image, dunes, {0.7, 1.0, 1.0});
  } else if (kind == "snow") {
    image.setTo(jitter(random, {240, 236, 232}, 6));
    add_plane(image, blobs(random, size, 4, 18), {1.0, 1.2, 1.6});
  } else if (kind == "clouds") {
    image.setTo(jitter(random, {70, 120, 100}, 15));
    cv::Mat mask = blobs(random, size, 4, 1.0);
    cv::Mat white(size, size, CV_8UC3, cv::Scalar(245, 245, 245));
    cv::Mat alpha;
    cv::threshold(mask, alpha, 0.0, 1.0, cv::THRESH_TOZERO);
    cv::GaussianBlur(alpha, alpha, cv::Size(0, 0), 3 * scale);
    alpha = cv::min(alpha * 2.5, 1.0);
    cv::Mat alpha3;
    cv::merge(std::vector<cv::Mat>{alpha, alpha, alpha}, alpha3);
    cv::Mat ground, cloud;
    image.convertTo(ground, CV_32FC3);
    white.convertTo(cloud, CV_32FC3);
    cv::Mat mixed = ground.mul(cv::Scalar::all(1.0) - alpha3) + cloud.mul(alpha3);
    mixed.convertTo(image, CV_8UC3);
  } else {  // roads
    image.setTo(jitter(random, {60, 130, 100}, 15));
    int count = random.integer(1, 3);
    for (int i = 0; i < count; ++i) {
      cv::Point a(random.integer(0, size - 1), 0), b(random.integer(0, size - 1), size - 1);
      if (random.integer(0, 1)) a = {0, random.integer(0, size - 1)}, b = {size - 1, random.integer(0, size - 1)};
      cv::line(image, a, b, jitter(random, {90, 90, 95}, 10), std::max(2, static_cast<int>(4 * scale)), cv::LINE_AA);
    }
  }
  cv::RNG rng(random.bits());
  cv::Mat signed_image;
  image.convertTo(signed_image, CV_16SC3);
  cv::Mat gaussian(size, size, CV_16SC3);
  rng.fill(gaussian, cv::RNG::NORMAL, 0, 6);
  signed_image += gaussian;
  signed_image.convertTo(image, CV_8UC3);
  return image;
}

}  // namespace

const std::vector<std::string>& sample_class_names() {
  static const std::vector<std::string> names = {"fields", "forest", "water", "urban",
                                                 "desert", "snow",   "clouds", "roads"};
  return names;
}

SampleSummary write_sample_dataset(const std::string& out, const SampleOptions& options) {
  const auto& names = sample_class_names();
  if (options.classes < 2 || options.classes > static_cast<int>(names.size()))
    throw_option("classes", "must be 2.." + std::to_string(names.size()) + ", got " + std::to_string(options.classes));
  if (options.per_class < 3) throw_option("per_class", "must be at least 3 (one tile per split), got " + std::to_string(options.per_class));
  if (options.size < 16 || options.size > 1024) throw_option("size", "must be 16..1024, got " + std::to_string(options.size));
  if (options.format != "jpg" && options.format != "png")
    throw_usage(unknown_value_message("format", options.format, {"jpg", "png"}));
  std::error_code error;
  if (fs::exists(out, error) && !(fs::is_directory(out, error) && fs::is_empty(out, error)))
    throw_option("out", "=" + out + " already exists and is not an empty folder; choose a new folder");

  int held_out = std::max(1, static_cast<int>(std::lround(options.per_class * 0.15)));
  const std::vector<std::pair<std::string, int>> splits = {
      {"train", options.per_class - 2 * held_out}, {"valid", held_out}, {"test", held_out}};
  SampleSummary summary;
  summary.classes.assign(names.begin(), names.begin() + options.classes);
  std::vector<int> parameters;
  if (options.format == "jpg") parameters = {cv::IMWRITE_JPEG_QUALITY, 92};
  for (size_t s = 0; s < splits.size(); ++s) {
    const auto& [split, count] = splits[s];
    for (size_t c = 0; c < summary.classes.size(); ++c) {
      fs::path folder = fs::path(out) / split / summary.classes[c];
      fs::create_directories(folder, error);
      if (error) throw_runtime("creating " + folder.string() + ": " + error.message());
      for (int i = 0; i < count; ++i) {
        // Each tile has its own stream, so a tile does not change when others are added.
        uint64_t tile_seed = options.seed * 0x9e3779b97f4a7c15ULL + (uint64_t(s) << 40) + (uint64_t(c) << 32) + uint64_t(i);
        Random random(tile_seed);
        cv::Mat tile = draw_tile(summary.classes[c], options.size, random);
        char name[96];
        std::snprintf(name, sizeof name, "%s_%04d.%s", summary.classes[c].c_str(), i, options.format.c_str());
        fs::path path = folder / name;
        if (!cv::imwrite(path.string(), tile, parameters)) throw_runtime("writing " + path.string() + " failed");
        ++summary.files;
      }
    }
    summary.splits.emplace_back(split, static_cast<int64_t>(count) * options.classes);
  }
  return summary;
}

}  // namespace satx::data
