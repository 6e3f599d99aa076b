#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/train/augment.hpp"

using namespace satx::train;

namespace {

torch::Tensor random_batch(int64_t n, int64_t size, uint64_t seed = 3) {
  torch::manual_seed(seed);
  return torch::rand({n, 3, size, size});
}

}  // namespace

TEST(Augment, LeavesLabelsUnchangedWithoutMixing) {
  const auto images = random_batch(16, 12);
  const auto labels = torch::randint(0, 5, {16}, torch::kLong);
  AugmentOptions options;
  options.crop_scale = 0.5;
  options.jitter = 0.3;
  const auto out = augment_batch(images, labels, 5, options, 0, 77);
  EXPECT_EQ(out.images.sizes(), images.sizes());
  EXPECT_TRUE(torch::equal(out.targets.argmax(1), labels));
  EXPECT_TRUE(torch::allclose(out.targets.sum(1), torch::ones({16})));
  EXPECT_GE(out.images.min().item<float>(), 0.0f);
  EXPECT_LE(out.images.max().item<float>(), 1.0f);
}

TEST(Augment, IsDeterministicForASeedAndVariesAcrossSeeds) {
  const auto images = random_batch(6, 16);
  const auto labels = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kLong);
  AugmentOptions options;
  options.crop_scale = 0.6;
  options.jitter = 0.2;
  options.mixup = 0.4;
  const auto a = augment_batch(images, labels, 3, options, 0, batch_seed(1, 2, 3));
  const auto b = augment_batch(images, labels, 3, options, 0, batch_seed(1, 2, 3));
  const auto c = augment_batch(images, labels, 3, options, 0, batch_seed(1, 2, 4));
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_TRUE(torch::equal(a.targets, b.targets));
  EXPECT_FALSE(torch::equal(a.images, c.images));
  EXPECT_NE(batch_seed(1, 2, 3), batch_seed(1, 3, 2));
}

TEST(Augment, FullTileCropIsTheIdentityAndResizes) {
  const auto images = random_batch(2, 8);
  const auto whole = torch::tensor({{0.0, 0.0, 2.0, 2.0}, {0.0, 0.0, 2.0, 2.0}});
  EXPECT_TRUE(torch::allclose(crop_and_resize(images, whole, 8), images, 1e-5, 1e-5));
  EXPECT_EQ(crop_and_resize(images, whole, 16).sizes(), (std::vector<int64_t>{2, 3, 16, 16}));
  // The left half of the tile, stretched to the full width.
  const auto left = torch::tensor({{-0.5, 0.0, 1.0, 2.0}, {-0.5, 0.0, 1.0, 2.0}});
  const auto cropped = crop_and_resize(images, left, 8);
  EXPECT_NEAR(cropped.mean().item<double>(), images.slice(3, 0, 4).mean().item<double>(), 0.05);
}

TEST(Augment, NeutralJitterChangesNothing) {
  const auto images = random_batch(3, 6);
  EXPECT_TRUE(torch::allclose(color_jitter(images, torch::ones({3, 3})), images, 1e-6, 1e-6));
  const auto darker = color_jitter(images, torch::tensor({{0.5, 1.0, 1.0}, {0.5, 1.0, 1.0}, {0.5, 1.0, 1.0}}));
  EXPECT_NEAR(darker.mean().item<double>(), images.mean().item<double>() * 0.5, 1e-5);
}

TEST(Augment, MixupAndCutmixGiveSoftTargetsThatSumToOne) {
  const auto images = random_batch(8, 16);
  const auto labels = torch::tensor({0, 1, 0, 1, 0, 1, 0, 1}, torch::kLong);
  for (bool cut : {false, true}) {
    AugmentOptions options;
    options.dihedral = false;
    (cut ? options.cutmix : options.mixup) = 1.0;
    const auto out = augment_batch(images, labels, 2, options, 0, 5);
    EXPECT_TRUE(torch::allclose(out.targets.sum(1), torch::ones({8}), 1e-5, 1e-5));
    EXPECT_GT((std::get<0>(out.targets.max(1)) < 1.0).sum().item<int64_t>(), 0) << (cut ? "cutmix" : "mixup");
  }
}
