#include "satx/train/augment.hpp"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/random.hpp"
#include "satx/infer/dihedral.hpp"

namespace F = torch::nn::functional;

namespace satx::train {

namespace {

// Uniform [low, high) doubles on the CPU from `generator`.
torch::Tensor uniform(at::Generator& generator, int64_t n, double low, double high) {
  return torch::rand({n}, generator, torch::kFloat64) * (high - low) + low;
}

// Beta(alpha, alpha) from two gamma draws.
double sample_beta(at::Generator& generator, double alpha) {
  const auto alphas = torch::full({2}, alpha, torch::kFloat64);
  const auto gammas = at::_standard_gamma(alphas, generator);
  const double a = gammas[0].item<double>(), b = gammas[1].item<double>();
  return a + b > 0 ? a / (a + b) : 0.5;
}

// Random resized crop boxes in normalized coordinates, inside the tile.
torch::Tensor sample_crop_boxes(at::Generator& generator, int64_t n, double min_scale, double max_ratio) {
  const auto area = uniform(generator, n, min_scale, 1.0);
  const double log_ratio = std::log(std::max(max_ratio, 1.0));
  const auto ratio = torch::exp(uniform(generator, n, -log_ratio, log_ratio));
  // width * height = area (as fractions of the side), width / height = ratio; clipped to the tile.
  const auto width = torch::sqrt(area * ratio).clamp_max(1.0);
  const auto height = torch::sqrt(area / ratio).clamp_max(1.0);
  const auto cx = (uniform(generator, n, -1.0, 1.0)) * (1.0 - width);
  const auto cy = (uniform(generator, n, -1.0, 1.0)) * (1.0 - height);
  return torch::stack({cx, cy, width * 2.0, height * 2.0}, 1);
}

torch::Tensor one_hot_float(const torch::Tensor& labels, int64_t num_classes) {
  return F::one_hot(labels, num_classes).to(torch::kFloat32);
}

}  // namespace

uint64_t batch_seed(uint64_t seed, int64_t epoch, int64_t step) {
  return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(step));
}

torch::Tensor crop_and_resize(const torch::Tensor& images, const torch::Tensor& boxes, int64_t size) {
  const int64_t n = images.size(0);
  const auto b = boxes.to(images.device(), images.scalar_type());
  // affine_grid maps output coordinates [-1, 1] to input coordinates: x_in = w/2 * x_out + cx.
  auto theta = torch::zeros({n, 2, 3}, images.options());
  theta.select(1, 0).select(1, 0).copy_(b.select(1, 2) / 2);
  theta.select(1, 0).select(1, 2).copy_(b.select(1, 0));
  theta.select(1, 1).select(1, 1).copy_(b.select(1, 3) / 2);
  theta.select(1, 1).select(1, 2).copy_(b.select(1, 1));
  const auto grid = F::affine_grid(theta, {n, images.size(1), size, size}, /*align_corners=*/false);
  return F::grid_sample(images, grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
}

torch::Tensor resize_batch(const torch::Tensor& images, int64_t size) {
  if (size <= 0 || (images.size(2) == size && images.size(3) == size)) return images;
  const bool shrinking = images.size(2) > size || images.size(3) > size;
  return F::interpolate(images, F::InterpolateFuncOptions()
                                    .size(std::vector<int64_t>{size, size})
                                    .mode(torch::kBilinear)
                                    .align_corners(false)
                                    .antialias(shrinking));
}

torch::Tensor color_jitter(const torch::Tensor& images, const torch::Tensor& factors) {
  const auto f = factors.to(images.device(), images.scalar_type());
  auto out = images * f.select(1, 0).view({-1, 1, 1, 1});
  // Contrast and saturation pivot on the grey level (ITU-R 601 luma for RGB, the channel mean otherwise).
  auto grey = [](const torch::Tensor& x) {
    if (x.size(1) == 3) {
      return (x.select(1, 0) * 0.299 + x.select(1, 1) * 0.587 + x.select(1, 2) * 0.114).unsqueeze(1);
    }
    return x.mean(1, true);
  };
  const auto mean_grey = grey(out).mean({2, 3}, true);
  out = (out - mean_grey) * f.select(1, 1).view({-1, 1, 1, 1}) + mean_grey;
  if (out.size(1) == 3) {
    const auto pixel_grey = grey(out);
    out = (out - pixel_grey) * f.select(1, 2).view({-1, 1, 1, 1}) + pixel_grey;
  }
  return out.clamp(0.0, 1.0);
}

void validate(const AugmentOptions& options) {
  if (!(options.crop_scale > 0 && options.crop_scale <= 1))
    throw_option("crop_scale", "must be in (0, 1], got " + std::to_string(options.crop_scale));
  if (!(options.crop_ratio >= 1 && options.crop_ratio <= 10))
    throw_option("crop_ratio", "must be in [1, 10], got " + std::to_string(options.crop_ratio));
  if (!(options.jitter >= 0 && options.jitter < 1)) throw_option("jitter", "must be in [0, 1), got " + std::to_string(options.jitter));
  if (!(options.mixup >= 0 && options.mixup <= 100)) throw_option("mixup", "must be in [0, 100], got " + std::to_string(options.mixup));
  if (!(options.cutmix >= 0 && options.cutmix <= 100))
    throw_option("cutmix", "must be in [0, 100], got " + std::to_string(options.cutmix));
}

AugmentedBatch augment_batch(const torch::Tensor& images, const torch::Tensor& labels, int64_t num_classes,
                             const AugmentOptions& given, int64_t output_size, uint64_t seed) {
  validate(given);
  AugmentOptions options = given;
  if (!options.enabled) {
    options.dihedral = false;
    options.crop_scale = 1.0;
    options.jitter = 0.0;
    options.mixup = options.cutmix = 0.0;
  }
  const int64_t n = images.size(0);
  const int64_t size = output_size > 0 ? output_size : images.size(2);
  // The generator lives on the CPU: parameters are a few numbers per tile, and drawing them there
  // makes a batch's augmentation identical on every device.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  // Every draw happens whether or not its transform is on, so switching one transform off leaves
  // the others' parameters unchanged.
  const auto boxes = sample_crop_boxes(generator, n, options.crop_scale, options.crop_ratio);
  const auto codes = torch::randint(0, 8, {n}, generator, torch::kLong);
  const auto factors = torch::stack({uniform(generator, n, 1 - options.jitter, 1 + options.jitter),
                                     uniform(generator, n, 1 - options.jitter, 1 + options.jitter),
                                     uniform(generator, n, 1 - options.jitter, 1 + options.jitter)}, 1);
  const auto pick = torch::rand({1}, generator, torch::kFloat64).item<double>();
  const auto permutation = torch::randperm(n, generator, torch::kLong);

  torch::Tensor out = options.crop_scale < 1.0 ? crop_and_resize(images, boxes, size) : resize_batch(images, size);
  if (options.dihedral && out.size(2) == out.size(3)) out = infer::dihedral_transform(out, codes);
  if (options.jitter > 0) out = color_jitter(out, factors);
  auto targets = one_hot_float(labels.to(images.device()), num_classes);

  const bool use_mixup = options.mixup > 0 && (options.cutmix <= 0 || pick < 0.5);
  const bool use_cutmix = options.cutmix > 0 && !use_mixup;
  if (n > 1 && (use_mixup || use_cutmix)) {
    const auto perm = permutation.to(images.device());
    const auto other_images = out.index_select(0, perm);
    const auto other_targets = targets.index_select(0, perm);
    double lambda = sample_beta(generator, use_mixup ? options.mixup : options.cutmix);
    if (use_mixup) {
      out = out * lambda + other_images * (1 - lambda);
    } else {
      // A box of area (1 - lambda) from the partner image; lambda is then the exact kept fraction.
      const double cut = std::sqrt(1 - lambda);
      const auto centre = torch::rand({2}, generator, torch::kFloat64);
      const int64_t cut_h = static_cast<int64_t>(size * cut), cut_w = cut_h;
      const int64_t y0 = std::clamp<int64_t>(static_cast<int64_t>(centre[0].item<double>() * size) - cut_h / 2, 0, size);
      const int64_t x0 = std::clamp<int64_t>(static_cast<int64_t>(centre[1].item<double>() * size) - cut_w / 2, 0, size);
      const int64_t y1 = std::min(size, y0 + cut_h), x1 = std::min(size, x0 + cut_w);
      out = out.clone();
      using torch::indexing::Slice;
      out.index_put_({Slice(), Slice(), Slice(y0, y1), Slice(x0, x1)},
                     other_images.index({Slice(), Slice(), Slice(y0, y1), Slice(x0, x1)}));
      lambda = 1.0 - static_cast<double>((y1 - y0) * (x1 - x0)) / static_cast<double>(size * size);
    }
    targets = targets * lambda + other_targets * (1 - lambda);
  }
  return {out, targets};
}

}  // namespace satx::train
