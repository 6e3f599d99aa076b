#include "satx/data/sampler.hpp"

#include <algorithm>
#include <map>

#include "satx/core/error.hpp"
#include "satx/core/random.hpp"

namespace satx::data {

Sampler parse_sampler(const std::string& text, const std::string& flag) {
  if (text == "shuffle") return Sampler::Shuffle;
  if (text == "balanced") return Sampler::Balanced;
  throw_usage(unknown_value_message(flag, text, {"shuffle", "balanced"}));
}

const char* sampler_name(Sampler sampler) { return sampler == Sampler::Balanced ? "balanced" : "shuffle"; }

std::vector<size_t> balanced_order(const std::vector<int64_t>& labels, size_t batch_size, size_t batches, uint64_t seed,
                                   int epoch) {
  std::map<int64_t, std::vector<size_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0) by_class[labels[i]].push_back(i);
  std::vector<size_t> order;
  if (by_class.empty() || batch_size == 0) return order;
  std::mt19937_64 rng = epoch_generator(seed ^ 0xba1a4ced5ULL, epoch);

  struct Cycle {
    std::vector<size_t> items;
    size_t next = 0;
  };
  std::vector<Cycle> cycles;
  for (auto& [label, items] : by_class) {
    cycles.push_back({std::move(items), 0});
    portable_shuffle(cycles.back().items, rng);
  }
  const size_t k = cycles.size();
  const size_t base = batch_size / k, extra = batch_size % k;
  order.reserve(batches * batch_size);
  for (size_t b = 0; b < batches; ++b) {
    const size_t begin = order.size();
    for (size_t c = 0; c < k; ++c) {
      // The `extra` leftover places go to the classes after a start that moves every batch.
      const size_t quota = base + ((c + k - (b * extra) % k) % k < extra ? 1 : 0);
      Cycle& cycle = cycles[c];
      for (size_t q = 0; q < quota; ++q) {
        if (cycle.next == cycle.items.size()) {
          portable_shuffle(cycle.items, rng);
          cycle.next = 0;
        }
        order.push_back(cycle.items[cycle.next++]);
      }
    }
    std::vector<size_t> batch(order.begin() + static_cast<std::ptrdiff_t>(begin), order.end());
    portable_shuffle(batch, rng);
    std::copy(batch.begin(), batch.end(), order.begin() + static_cast<std::ptrdiff_t>(begin));
  }
  return order;
}

}  // namespace satx::data
