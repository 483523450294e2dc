// Concurrency: a worker thread forwards traffic through the pipeline while
// the control thread churns every kind of table entry. Meant to run under
// ASan (-Db_sanitize=address,undefined): a packet reading a freed record
// (port, network, VTEP) is reported there; here we also check that every
// frame is accounted for and no mbuf leaks.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "tests/dataplane/core/harness.h"

namespace ferry::dataplane::test {
namespace {

constexpr Vni kChurnVni = 777;
constexpr int kMacs = 64;
constexpr int kVteps = 8;

MacAddr churn_mac(int i) { return MacAddr::from_u64(0x020000770000ull + static_cast<std::uint64_t>(i)); }
Ipv4Addr churn_vtep(int i) { return Ipv4Addr{0xac1f0710u + static_cast<std::uint32_t>(i)}; }
const MacAddr kPort2Mac{{0x02, 0, 0, 0, 0, 2}};

struct TxCount {
  std::uint64_t frames = 0;
};
std::uint16_t free_all(void* arg, PortId, std::uint16_t, rte_mbuf** pkts, std::uint16_t n) {
  static_cast<TxCount*>(arg)->frames += n;
  rte_pktmbuf_free_bulk(pkts, n);
  return n;
}

TEST(Churn, TablesChangeUnderTrafficWithoutUseAfterFree) {
  Harness h(Harness::default_config(), 8192);
  h.program_host_a();
  TxCount tx;
  h.ctx().set_tx(&free_all, &tx);

  // Frame templates for the worker.
  std::vector<Bytes> from_port1, from_port2, from_uplink;
  for (int i = 0; i < kMacs; ++i) {
    from_port1.push_back(inner_udp(churn_mac(i), kLocalMac, kLocalIp, kRemoteIp, static_cast<std::uint16_t>(i), 9, 64));
    from_port2.push_back(inner_udp(churn_mac(i), kPort2Mac, Ipv4Addr{0x0a010002}, kRemoteIp, 1, 9, 64));
    from_uplink.push_back(vxlan(inner_udp(i % 2 ? kLocalMac : kPort2Mac, churn_mac(i), kRemoteIp, kLocalIp, 1, 2, 64),
                                i % 3 ? kVni : kChurnVni, churn_vtep(i % kVteps)));
  }
  from_port1.push_back(ether(MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, kLocalMac, 0x88b5, Bytes(50, 1)));
  from_uplink.push_back(vxlan(ether(MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, kRemoteMac, 0x88b5, Bytes(50, 1)),
                              kVni, churn_vtep(1)));

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> fed{0};
  std::thread worker([&] {
    std::mt19937 rng(1);
    rte_mbuf* burst[kBurstSize];
    std::uint64_t n_fed = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const int which = static_cast<int>(rng() % 3);
      const auto& templates = which == 0 ? from_port1 : which == 1 ? from_port2 : from_uplink;
      for (auto& m : burst) {
        const Bytes& f = templates[rng() % templates.size()];
        m = rte_pktmbuf_alloc(h.pool());
        if (m == nullptr) {
          std::fprintf(stderr, "worker: mempool empty (%u in use)\n", h.mbufs_in_use());
          std::abort();
        }
        std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(f.size())), f.data(), f.size());
      }
      if (which == 2) {
        h.pipeline().process_uplink(h.ctx(), burst, kBurstSize);
      } else {
        h.pipeline().process_endpoint(h.ctx(), which == 0 ? kLocalPort : PortId{2}, burst, kBurstSize);
      }
      n_fed += kBurstSize;
      h.ctx().quiescent();
      if (rng() % 64 == 0) {  // as an idle worker would
        h.ctx().offline();
        std::this_thread::yield();
        h.ctx().online();
      }
    }
    fed = n_fed;
    h.ctx().offline();  // a stopped worker must not hold up grace periods
  });

  std::mt19937 rng(2);
  Tables& t = h.tables();
  std::uint64_t ops = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    const Vni vni = rng() % 2 ? kVni : kChurnVni;
    const MacAddr mac = churn_mac(static_cast<int>(rng() % kMacs));
    const Ipv4Addr vtep = churn_vtep(static_cast<int>(rng() % kVteps));
    switch (rng() % 12) {
      case 0:
      case 1:
      case 2:
        (void)t.add_remote_mac(vni, mac, vtep);
        break;
      case 3:
      case 4:
        (void)t.del_remote_mac(vni, mac);
        break;
      case 5:
        (void)(rng() % 2 ? t.add_flood_vtep(vni, vtep) : t.del_flood_vtep(vni, vtep));
        break;
      case 6:
        (void)(rng() % 3 ? t.set_vtep_next_hop(vtep, kRemoteHostMac) : t.clear_vtep_next_hop(vtep));
        break;
      case 7:
        (void)(rng() % 2 ? t.add_port(EndpointPort{2, kVni, kPort2Mac, {Ipv4Addr{0x0a010002}}}) : t.del_port(2));
        break;
      case 8:
        (void)(rng() % 2 ? t.add_network(kChurnVni, rng() % 2 == 0) : t.del_network(kChurnVni));
        break;
      case 9:
        (void)(rng() % 2 ? t.add_neighbour(vni, Ipv4Addr{static_cast<std::uint32_t>(0x0a0100f0u + rng() % 8)}, mac)
                         : t.del_neighbour(vni, Ipv4Addr{static_cast<std::uint32_t>(0x0a0100f0u + rng() % 8)}));
        break;
      case 10:
        t.reclaim();
        break;
      case 11:
        if (rng() % 16 == 0) t.synchronize();
        break;
    }
    ++ops;
  }
  stop = true;
  worker.join();

  rte_mbuf* slow[64];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(h.pipeline().slow_path_rx(), reinterpret_cast<void**>(slow), 64, nullptr)) > 0) {
    rte_pktmbuf_free_bulk(slow, n);
  }
  const Stats s = h.stats();
  std::printf("churn: %llu control ops, %llu frames fed, %llu sent, %llu dropped\n",
              static_cast<unsigned long long>(ops), static_cast<unsigned long long>(fed.load()),
              static_cast<unsigned long long>(s[Counter::tx]), static_cast<unsigned long long>(s.total_drops()));
  EXPECT_GT(ops, 1000u);
  EXPECT_GT(fed.load(), 10000u);
  EXPECT_EQ(s[Counter::rx_uplink] + s[Counter::rx_endpoint], fed.load());
  EXPECT_EQ(s[Counter::tx], tx.frames);
  EXPECT_GT(s[Counter::encap], 0u);
  EXPECT_GT(s[Counter::decap], 0u);
  t.synchronize();
  EXPECT_EQ(h.mbufs_in_use(), 0u);
}

}  // namespace
}  // namespace ferry::dataplane::test
