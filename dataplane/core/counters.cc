#include "dataplane/core/counters.h"

namespace ferry::dataplane {

namespace {
std::uint64_t load(const std::uint64_t& v) { return __atomic_load_n(&v, __ATOMIC_RELAXED); }
}  // namespace

std::uint64_t Stats::total_drops() const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kCounterCount; ++i) {
    if (kCounterInfo[i].kind == CounterKind::Drop) total += counters[i];
  }
  return total;
}

void Stats::add(const LcoreCounters& c) {
  for (std::size_t i = 0; i < kCounterCount; ++i) counters[i] += load(c.counters[i]);
  for (std::size_t p = 0; p < kMaxPorts; ++p) {
    for (std::size_t i = 0; i < kPortCounterCount; ++i) ports[p][i] += load(c.ports[p][i]);
  }
  for (std::size_t n = 0; n < kMaxNetworks; ++n) {
    for (std::size_t i = 0; i < kNetCounterCount; ++i) networks[n][i] += load(c.networks[n][i]);
  }
}

}  // namespace ferry::dataplane
