// The dihedral group shared by training augmentation and test-time augmentation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "satx/infer/dihedral.hpp"

using satx::infer::dihedral_transform;
using satx::infer::dihedral_view;

namespace {

torch::Tensor random_batch(int64_t n, int64_t size, uint64_t seed = 3) {
  torch::manual_seed(seed);
  return torch::rand({n, 3, size, size});
}

}  // namespace

TEST(Dihedral, EachDihedralTransformIsAPixelPermutation) {
  const auto images = random_batch(8, 9);
  const auto codes = torch::arange(8, torch::kLong);
  const auto out = dihedral_transform(images, codes);
  ASSERT_EQ(out.sizes(), images.sizes());
  std::vector<torch::Tensor> seen;
  for (int64_t i = 0; i < 8; ++i) {
    // Same multiset of values in every channel: pixels moved, none changed.
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_TRUE(torch::equal(std::get<0>(out[i][c].flatten().sort()), std::get<0>(images[i][c].flatten().sort())));
  }
  // The 8 elements act differently: apply each to one image and compare.
  const auto same = images[0].unsqueeze(0).expand({8, 3, 9, 9}).contiguous();
  const auto variants = dihedral_transform(same, codes);
  for (int64_t a = 0; a < 8; ++a)
    for (int64_t b = a + 1; b < 8; ++b) EXPECT_FALSE(torch::equal(variants[a], variants[b])) << a << " vs " << b;
  EXPECT_TRUE(torch::equal(variants[0], images[0]));  // code 0 is the identity
}

TEST(Dihedral, DihedralMovesPixelsWhereExpected) {
  auto image = torch::zeros({1, 1, 4, 4});
  image[0][0][0][1] = 1.0;  // row 0, column 1
  auto at = [](const torch::Tensor& t) { return t.flatten().argmax().item<int64_t>(); };
  EXPECT_EQ(at(dihedral_transform(image, torch::tensor({1}))), 0 * 4 + 2);  // flip left-right
  EXPECT_EQ(at(dihedral_transform(image, torch::tensor({2}))), 3 * 4 + 1);  // flip up-down
  EXPECT_EQ(at(dihedral_transform(image, torch::tensor({4}))), 1 * 4 + 0);  // transpose
}

TEST(Dihedral, AWholeBatchViewEqualsThePerSampleTransform) {
  const auto images = random_batch(4, 7);
  for (int k = 0; k < 8; ++k)
    EXPECT_TRUE(torch::equal(dihedral_view(images, k), dihedral_transform(images, torch::full({4}, k, torch::kLong))))
        << "element " << k;
}
