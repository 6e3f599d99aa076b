#include "satx/serve/model_slot.hpp"

#include <algorithm>

#include <opencv2/core.hpp>

#include <torch/torch.h>

#include "satx/core/sha256.hpp"
#include "satx/data/loader.hpp"
#include "satx/models/model_file.hpp"

namespace satx::serve {

std::shared_ptr<const ServedModel> load_served_model(const std::filesystem::path& path, torch::Device device,
                                                     const infer::EngineOptions& options) {
  // The digest and the time stamp are read before the tensors: a file replaced while loading
  // then looks changed on the next check and is loaded again, never half-noticed.
  std::error_code ignored;
  auto model = std::make_shared<ServedModel>();
  model->path = path;
  model->mtime = std::filesystem::last_write_time(path, ignored);
  model->version = sha256_file(path).substr(0, 12);
  model->engine = std::make_unique<infer::InferenceEngine>(models::load_model_file(path, device), device, options);
  const auto& metadata = model->engine->metadata();
  model->threshold = infer::resolve_threshold(metadata, std::nullopt);
  const auto& sizes = model->engine->input_sizes();
  model->max_input_size = *std::max_element(sizes.begin(), sizes.end());
  const auto side = static_cast<int64_t>(metadata.input_size);
  model->engine->probabilities(torch::zeros({1, metadata.in_channels, side, side}, torch::kUInt8));
  model->loaded_at = std::chrono::system_clock::now();
  return model;
}

DecodedBody decode_body(const ServedModel& model, const std::string& body, int64_t max_pixels) {
  DecodedBody decoded;
  io::DecodeOptions options;
  options.channels = model.metadata().in_channels;
  options.max_pixels = max_pixels;
  io::DecodeResult result =
      io::try_decode_tile_bytes(reinterpret_cast<const uint8_t*>(body.data()), body.size(), options);
  if (!result.tile) {
    decoded.error = result.error;
    decoded.too_large = result.too_large;
    return decoded;
  }
  // The square predict's loader brings a tile to, resized on the tile decoded once.
  const cv::Mat& natural = result.tile->pixels;
  const cv::Mat pixels =
      io::resize_square(natural, data::loader_tile_size(std::max(natural.rows, natural.cols), model.max_input_size));
  decoded.tile = torch::from_blob(pixels.data, {pixels.rows, pixels.cols, pixels.channels()}, torch::kUInt8)
                     .permute({2, 0, 1})
                     .contiguous();
  return decoded;
}

}  // namespace satx::serve
