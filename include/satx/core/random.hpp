#pragma once
/// Portable pseudo-random helpers: the same seed gives the same numbers with every standard
/// library (std::uniform_int_distribution and std::shuffle are implementation-defined).

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace satx {

/// The splitmix64 finalizer: a well-mixed 64-bit value from any 64-bit input.
uint64_t splitmix64(uint64_t x);

/// Uniform in [0, bound) by rejection sampling; bound > 0.
uint64_t bounded_random(std::mt19937_64& rng, uint64_t bound);

/// A generator for epoch `epoch` of a run seeded with `seed` (a negative epoch is a valid stream).
std::mt19937_64 epoch_generator(uint64_t seed, int epoch);

/// Fisher-Yates shuffle of `items` driven by `rng`.
template <typename T>
void portable_shuffle(std::vector<T>& items, std::mt19937_64& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[bounded_random(rng, i)]);
}

}  // namespace satx
