#include "satx/core/random.hpp"

#include <limits>

namespace satx {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t bounded_random(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = max - max % bound;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return x % bound;
}

std::mt19937_64 epoch_generator(uint64_t seed, int epoch) {
  // The mixing the loader has always used, so shuffled orders stay what they were.
  return std::mt19937_64(splitmix64(seed ^ splitmix64(static_cast<uint64_t>(static_cast<int64_t>(epoch)) + 0x5eed)));
}

}  // namespace satx
