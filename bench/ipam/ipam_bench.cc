// ferry-bench ipam: the distributed IPAM under simulation at N hosts (LAN
// gossip defaults). Every host allocates K addresses at the same simulated
// instant, starting from a pool that belongs to one host: reports how long
// the allocations take (donations spreading the space), when every host's
// ownership map agrees, the traffic it costs, and then how long a crashed
// host's space takes to be reclaimed. See docs/ipam.md.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bench/command.h"
#include "control/gossip/node.h"
#include "control/gossip/sim_cluster.h"
#include "control/ipam/allocator.h"

namespace ferry::bench {
namespace {

using namespace std::chrono_literals;
using gossip::SimCluster;
using gossip::TimePoint;

struct Options {
  std::size_t nodes = 100;
  std::size_t per_node = 4;
  std::uint32_t prefix = 16;
  double loss = 0.01;
  std::uint64_t seed = 1;
  std::uint64_t reclaim_s = 20;
  bool json = false;
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--json") {
      o.json = true;
      continue;
    }
    if (v == nullptr) return false;
    ++i;
    if (a == "--nodes") {
      o.nodes = std::strtoul(v, nullptr, 10);
    } else if (a == "--per-node") {
      o.per_node = std::strtoul(v, nullptr, 10);
    } else if (a == "--prefix") {
      o.prefix = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (a == "--loss") {
      o.loss = std::strtod(v, nullptr);
    } else if (a == "--seed") {
      o.seed = std::strtoull(v, nullptr, 0);
    } else if (a == "--reclaim-after") {
      o.reclaim_s = std::strtoull(v, nullptr, 10);
    } else {
      return false;
    }
  }
  return o.nodes >= 3 && o.per_node >= 1 && o.prefix >= 8 && o.prefix <= 24 && o.loss >= 0 && o.loss < 1 &&
         o.reclaim_s >= 2;
}

double ms(gossip::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int run_ipam(int argc, char** argv) {
  Options opt;
  if (!parse(argc, argv, opt)) {
    std::fprintf(stderr,
                 "usage: ferry-bench ipam [--nodes N (100)] [--per-node K (4)] [--prefix L (16)] [--loss P (0.01)]\n"
                 "                        [--seed S (1)] [--reclaim-after SECONDS (20)] [--json]\n");
    return 2;
  }
  const auto wall_start = std::chrono::steady_clock::now();
  const std::size_t n = opt.nodes;
  ipam::Config config;
  config.reclaim_after = std::chrono::seconds(opt.reclaim_s);
  config.fence_after = config.reclaim_after / 2;
  config.reclaim_settle = 3s;
  gossip::SimNetConfig net;
  net.loss = opt.loss;
  SimCluster sim(gossip::Config::lan(), net, opt.seed);
  std::vector<std::unique_ptr<ipam::Allocator>> allocs(n);
  sim.set_node_hook([&](std::size_t i, gossip::Node& node) {
    allocs[i] = std::make_unique<ipam::Allocator>(config, node, sim.clock(), gossip::mix_seed(opt.seed ^ (i << 8)));
    node.set_delegate(allocs[i].get());
  });
  sim.add_nodes(n);
  sim.bootstrap_converged();
  const std::string genesis = SimCluster::name_of(0);
  for (std::size_t i = 0; i < n; ++i) {
    if (auto r = allocs[i]->ensure_pool("net", 0x0a000000, opt.prefix, genesis); !r) {
      std::fprintf(stderr, "ensure_pool: %s\n", r.error().message.c_str());
      return 1;
    }
  }
  sim.run_for(2s);
  auto total_bytes = [&] {
    std::uint64_t b = 0;
    for (std::size_t i = 0; i < n; ++i) b += sim.bytes_sent(i);
    return b;
  };
  // Background traffic (membership only: nothing to say about the pool yet).
  const std::uint64_t idle0 = total_bytes();
  sim.run_for(10s);
  const double idle_rate = static_cast<double>(total_bytes() - idle0) / 10.0;  // bytes/s, whole cluster

  // The storm: every host allocates K addresses at once.
  const TimePoint t0 = sim.now();
  const std::uint64_t bytes0 = total_bytes();
  std::vector<gossip::Duration> latency;
  std::size_t failed = 0;
  std::size_t done_count = 0;
  std::set<ipam::Addr> seen;
  std::size_t duplicates = 0;
  for (std::size_t k = 0; k < opt.per_node; ++k) {
    for (std::size_t i = 0; i < n; ++i) {
      allocs[i]->allocate("net", fmt::format("ep-{}-{}", i, k), std::nullopt, [&](Result<ipam::Addr> r) {
        ++done_count;
        if (!r) {
          ++failed;
          return;
        }
        latency.push_back(sim.now() - t0);
        if (!seen.insert(*r).second) ++duplicates;
      });
      sim.reschedule(i);
    }
  }
  const std::size_t want = n * opt.per_node;
  sim.run_until([&] { return done_count == want; }, 60s, 10ms);
  const gossip::Duration all_done = sim.now() - t0;
  auto maps_agree = [&](std::optional<std::size_t> skip) {
    const ipam::BlockMap* first = nullptr;
    for (std::size_t i = 0; i < n; ++i) {
      if (skip && *skip == i) continue;
      const ipam::BlockMap* m = allocs[i]->map("net");
      if (first == nullptr) {
        first = m;
      } else if (!(*m == *first)) {
        return false;
      }
    }
    return true;
  };
  const bool converged = sim.run_until([&] { return maps_agree(std::nullopt); }, 120s, 100ms);
  const gossip::Duration converge = sim.now() - t0;
  const double window_s = std::chrono::duration<double>(converge).count();
  const double extra_bytes = static_cast<double>(total_bytes() - bytes0) - idle_rate * window_s;
  std::sort(latency.begin(), latency.end());
  auto pct = [&](double p) {
    return latency.empty() ? -1.0
                           : ms(latency[std::min(latency.size() - 1, static_cast<std::size_t>(p * latency.size()))]);
  };
  std::uint64_t asked = 0;
  std::uint64_t given = 0;
  std::uint64_t rejected = 0;  // forged, malformed, bad ranges: must stay 0 among honest hosts
  for (std::size_t i = 0; i < n; ++i) {
    asked += allocs[i]->counter(ipam::Counter::donations_asked);
    given += allocs[i]->counter(ipam::Counter::donations_given);
    for (const auto c :
         {ipam::Counter::forged, ipam::Counter::malformed, ipam::Counter::bad_range, ipam::Counter::pool_mismatch}) {
      rejected += allocs[i]->counter(c);
    }
  }
  const std::size_t state_bytes = allocs[0]->local_state(false).size();
  const std::size_t owners = allocs[0]->map("net")->num_owners();

  // Reclaim: crash the host owning the most blocks other than node 0.
  std::size_t victim = 1;
  for (std::size_t i = 1; i < n; ++i) {
    if (allocs[0]->map("net")->count_of(SimCluster::name_of(i)) >
        allocs[0]->map("net")->count_of(SimCluster::name_of(victim))) {
      victim = i;
    }
  }
  const std::string victim_name = SimCluster::name_of(victim);
  const std::uint32_t victim_blocks = allocs[0]->map("net")->count_of(victim_name);
  const TimePoint crash_at = sim.now();
  sim.crash(victim);
  allocs[victim].reset();
  const bool reclaimed = sim.run_until(
      [&] {
        for (std::size_t i = 0; i < n; ++i) {
          if (i != victim && allocs[i]->map("net")->count_of(victim_name) != 0) return false;
        }
        return maps_agree(victim);
      },
      std::chrono::seconds(opt.reclaim_s) + 60s, 50ms);
  const gossip::Duration reclaim = sim.now() - crash_at;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  for (std::size_t i = 0; i < n; ++i) {
    if (sim.is_up(i)) sim.node(i).set_delegate(nullptr);
  }

  if (opt.json) {
    std::printf(
        "{\"nodes\": %zu, \"per_node\": %zu, \"prefix\": %u, \"loss\": %.3f, \"seed\": %lu, \"allocated\": %zu, "
        "\"failed\": %zu, \"duplicates\": %zu, \"alloc_p50_ms\": %.1f, \"alloc_p99_ms\": %.1f, \"alloc_all_ms\": %.1f, "
        "\"maps_agree_ms\": %.1f, \"donations_asked\": %lu, \"donations_given\": %lu, \"extra_bytes_per_node\": %.0f, "
        "\"rejected_msgs\": %lu, \"state_bytes\": %zu, \"owners\": %zu, \"reclaim_blocks\": %u, \"reclaim_ms\": %.1f, "
        "\"wall_seconds\": "
        "%.1f}\n",
        n, opt.per_node, opt.prefix, opt.loss, static_cast<unsigned long>(opt.seed), seen.size(), failed, duplicates,
        pct(0.5), pct(0.99), ms(all_done), converged ? ms(converge) : -1.0, static_cast<unsigned long>(asked),
        static_cast<unsigned long>(given), extra_bytes / static_cast<double>(n), static_cast<unsigned long>(rejected),
        state_bytes, owners, victim_blocks, reclaimed ? ms(reclaim) : -1.0, wall);
  } else {
    std::printf("ipam simulation: %zu hosts x %zu allocations, pool /%u, loss %.1f%%, seed %lu\n", n, opt.per_node,
                opt.prefix, opt.loss * 100, static_cast<unsigned long>(opt.seed));
    std::printf("  allocated / failed / dup     %zu / %zu / %zu\n", seen.size(), failed, duplicates);
    std::printf("  allocation p50 / p99 / all   %.1f / %.1f / %.1f ms\n", pct(0.5), pct(0.99), ms(all_done));
    std::printf("  maps agree everywhere        %.1f ms after the first request\n", converged ? ms(converge) : -1.0);
    std::printf("  donations asked / given      %lu / %lu\n", static_cast<unsigned long>(asked),
                static_cast<unsigned long>(given));
    std::printf("  extra traffic                %.0f bytes/host (above membership background)\n",
                extra_bytes / static_cast<double>(n));
    std::printf("  rejected messages            %lu (forged, malformed, bad range, pool mismatch)\n",
                static_cast<unsigned long>(rejected));
    std::printf("  full map (push-pull state)   %zu bytes, %zu owners\n", state_bytes, owners);
    std::printf("  reclaim of %u blocks         %.1f ms after the crash (reclaim_after %lu s)\n", victim_blocks,
                reclaimed ? ms(reclaim) : -1.0, static_cast<unsigned long>(opt.reclaim_s));
    std::printf("  wall time %.1f s\n", wall);
  }
  return failed == 0 && duplicates == 0 && rejected == 0 && converged && reclaimed ? 0 : 1;
}

}  // namespace

FERRY_BENCH_COMMAND(ipam, "distributed IPAM simulation: allocation storm, convergence, reclaim", run_ipam);

}  // namespace ferry::bench
