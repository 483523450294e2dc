// One shape for every counter list of the data plane: the pipeline's
// (counters.h), the UDP and tap uplinks', the vnet ports' drop reasons and
// the VTEP echo's. A module writes its counters once, as an X-macro list of
// X(kind, name, help) (kind Count: something happened; Drop: a frame was
// freed, exactly one Drop counter per frame), and makes from it
//
//   enum class UdpCounter : std::uint8_t { FERRY_UDP_UPLINK_COUNTERS(FERRY_COUNTER_ENUM) };
//   inline constexpr auto kUdpCounterInfo =
//       std::to_array<CounterInfo>({FERRY_UDP_UPLINK_COUNTERS(FERRY_COUNTER_INFO)});
//
// the enum and, in the same order, the names, kinds and help texts that
// stats, metrics and `ferryctl dp stats --json` print. CounterBlock<E, N>
// holds one queue's (or one thread's) values: bumped by its one writer
// without a locked instruction, read by anyone with relaxed loads (a reader
// may see a value one burst old, never a torn one). No allocation, no lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferry::dataplane {

enum class CounterKind : std::uint8_t { Count, Drop };

struct CounterInfo {
  std::string_view name;
  CounterKind kind;
  std::string_view help;
};

// X-macro adapters: an enumerator, and a CounterInfo, per entry.
#define FERRY_COUNTER_ENUM(kind, name, help) name,
#define FERRY_COUNTER_INFO(kind, name, help) \
  ::ferry::dataplane::CounterInfo{#name, ::ferry::dataplane::CounterKind::kind, help},

template <typename E, std::size_t N>
class CounterBlock {
 public:
  using Values = std::array<std::uint64_t, N>;

  // The writer's bump (one thread per block).
  void count(E c, std::uint64_t n = 1) {
    auto& v = values_[static_cast<std::size_t>(c)];
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t operator[](E c) const { return at(static_cast<std::size_t>(c)); }
  [[nodiscard]] std::uint64_t at(std::size_t i) const { return values_[i].load(std::memory_order_relaxed); }
  // Adds every value to `sum` (the sum over a port's queues).
  void add_to(Values& sum) const {
    for (std::size_t i = 0; i < N; ++i) sum[i] += at(i);
  }

 private:
  std::array<std::atomic<std::uint64_t>, N> values_{};
};

// The sum of the Drop counters whose names start with `prefix` (all with an
// empty prefix), e.g. a port's tx_errors from its "tx_" drops.
template <std::size_t N>
[[nodiscard]] std::uint64_t sum_drops(const std::array<CounterInfo, N>& info,
                                      const std::array<std::uint64_t, N>& values, std::string_view prefix = {}) {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < N; ++i) {
    if (info[i].kind == CounterKind::Drop && info[i].name.starts_with(prefix)) total += values[i];
  }
  return total;
}

}  // namespace ferry::dataplane
