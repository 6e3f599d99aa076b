#include "satx/infer/dihedral.hpp"

#include <torch/torch.h>

#include "satx/core/error.hpp"

namespace satx::infer {

namespace {

void check_square(const torch::Tensor& images) {
  if (images.dim() != 4 || images.size(2) != images.size(3))
    throw_usage("dihedral transforms need square [N, C, S, S] batches");
}

}  // namespace

torch::Tensor dihedral_view(const torch::Tensor& images, int k) {
  check_square(images);
  torch::Tensor out = images;
  if (k & 1) out = out.flip({3});
  if (k & 2) out = out.flip({2});
  if (k & 4) out = out.transpose(2, 3);
  return out;
}

torch::Tensor dihedral_transform(const torch::Tensor& images, const torch::Tensor& codes) {
  check_square(images);
  const auto bits = codes.to(images.device(), torch::kLong).view({-1, 1, 1, 1});
  auto out = images;
  // Each step selects between the batch and its transformed copy, so every sample gets its own element.
  out = torch::where((bits & 1).to(torch::kBool), out.flip({3}), out);
  out = torch::where((bits & 2).to(torch::kBool), out.flip({2}), out);
  out = torch::where((bits & 4).to(torch::kBool), out.transpose(2, 3), out);
  return out.contiguous(images.suggest_memory_format());
}

}  // namespace satx::infer
