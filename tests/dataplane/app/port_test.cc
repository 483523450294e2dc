// The port table: Ferry PortIds are dense, handed out after the last one and
// reused as late as possible; workers' bursts reach an ethdev (a net_null
// vdev here) or a socket-style port's burst functions, and the pipeline's
// TxFn does the same; a removed port is closed and its slot empty.
#include "dataplane/app/port.h"

#include <gtest/gtest.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <vector>

#include "dataplane/app/ports.h"
#include "dataplane/core/pipeline.h"
#include "tests/dataplane/app/eal_env.h"

namespace ferry::dataplane::app {
namespace {

// A port with burst functions of its own: RX hands out `rx_ready` frames
// from a pool, TX accepts up to `tx_room` frames (and frees them).
class FakeSocketPort final : public Port {
 public:
  explicit FakeSocketPort(rte_mempool* pool, bool* closed = nullptr)
      : Port("fake", "fake:0"), pool_(pool), closed_(closed) {}
  ~FakeSocketPort() override {
    if (closed_ != nullptr) *closed_ = true;
  }
  FakeSocketPort(const FakeSocketPort&) = delete;
  FakeSocketPort& operator=(const FakeSocketPort&) = delete;

  [[nodiscard]] PortIo io() const override {
    return PortIo{PortIo::kNoEthdev, &FakeSocketPort::rx, &FakeSocketPort::tx, const_cast<FakeSocketPort*>(this)};
  }
  [[nodiscard]] PortCounters counters() override { return PortCounters{rx_packets, 0, tx_packets, 0, 0, 0}; }
  [[nodiscard]] bool link_up() const override { return true; }
  [[nodiscard]] MacAddr mac() const override { return {}; }

  std::uint16_t rx_ready = 0;
  std::uint16_t tx_room = 0;
  std::uint16_t last_queue = 0xffff;
  std::uint64_t rx_packets = 0, tx_packets = 0;

 private:
  static std::uint16_t rx(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
    auto* self = static_cast<FakeSocketPort*>(state);
    self->last_queue = queue;
    const std::uint16_t k = std::min(n, self->rx_ready);
    if (rte_pktmbuf_alloc_bulk(self->pool_, pkts, k) != 0) return 0;
    self->rx_ready = static_cast<std::uint16_t>(self->rx_ready - k);
    self->rx_packets += k;
    return k;
  }
  static std::uint16_t tx(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
    auto* self = static_cast<FakeSocketPort*>(state);
    self->last_queue = queue;
    const std::uint16_t k = std::min(n, self->tx_room);
    rte_pktmbuf_free_bulk(pkts, k);
    self->tx_packets += k;
    return k;
  }

  rte_mempool* pool_;
  bool* closed_;
};

class PortTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::eal_up()) GTEST_SKIP() << "EAL could not start (--no-huge) here";
    pool_ = rte_pktmbuf_pool_create(fmt::format("pt{}", counter_++).c_str(), 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    table_.clear();
    rte_mempool_free(pool_);
  }
  std::unique_ptr<FakeSocketPort> fake(bool* closed = nullptr) {
    return std::make_unique<FakeSocketPort>(pool_, closed);
  }

  static inline int counter_ = 0;
  rte_mempool* pool_ = nullptr;
  PortTable table_;
};

TEST_F(PortTableTest, IdsAreDenseAndReusedAsLateAsPossible) {
  std::vector<PortId> ids;
  for (int i = 0; i < 3; ++i) {
    auto id = table_.add(fake());
    ASSERT_TRUE(id) << id.error().message;
    ids.push_back(*id);
  }
  EXPECT_EQ(ids, (std::vector<PortId>{0, 1, 2}));
  bool closed = false;
  auto* second = table_.get(1);
  ASSERT_NE(second, nullptr);
  table_.remove(1);
  EXPECT_EQ(table_.get(1), nullptr);
  EXPECT_FALSE(table_.io(1).valid());
  // Not 1 again at once: the next id after the last one handed out.
  auto next = table_.add(fake(&closed));
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, 3);
  table_.remove(*next);
  EXPECT_TRUE(closed) << "remove() closes the port";
  EXPECT_EQ(table_.size(), 2U);
}

TEST_F(PortTableTest, FullTableRefusesAndClosesThePort) {
  for (std::size_t i = 0; i < kMaxPorts; ++i) {
    ASSERT_TRUE(table_.add(fake()));
  }
  EXPECT_EQ(table_.size(), kMaxPorts);
  bool closed = false;
  auto refused = table_.add(fake(&closed));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("no room"), std::string::npos) << refused.error().message;
  EXPECT_TRUE(closed);
  // After removing one, ids wrap around to the free one.
  table_.remove(5);
  auto id = table_.add(fake());
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, 5);
}

TEST_F(PortTableTest, PortWithoutIoIsRefused) {
  class NoIo final : public Port {
   public:
    NoIo() : Port("none", "none") {}
    [[nodiscard]] PortIo io() const override { return {}; }
    [[nodiscard]] PortCounters counters() override { return {}; }
    [[nodiscard]] bool link_up() const override { return false; }
    [[nodiscard]] MacAddr mac() const override { return {}; }
  };
  EXPECT_FALSE(table_.add(std::make_unique<NoIo>()));
  EXPECT_FALSE(table_.add(nullptr));
  EXPECT_EQ(table_.size(), 0U);
}

TEST_F(PortTableTest, SocketPortBurstsReachItsFunctions) {
  auto owned = fake();
  FakeSocketPort* port = owned.get();
  auto id = table_.add(std::move(owned));
  ASSERT_TRUE(id);
  port->rx_ready = 40;
  rte_mbuf* pkts[kBurstSize];
  EXPECT_EQ(table_.rx_burst(*id, 3, pkts, kBurstSize), kBurstSize);
  EXPECT_EQ(port->last_queue, 3);
  // The pipeline's TxFn: accepts what the port takes, leaves the rest.
  port->tx_room = 20;
  TxFn fn = &PortTable::tx_burst;
  EXPECT_EQ(fn(&table_, *id, 1, pkts, kBurstSize), 20);
  EXPECT_EQ(port->last_queue, 1);
  rte_pktmbuf_free_bulk(pkts + 20, kBurstSize - 20);
  EXPECT_EQ(table_.rx_burst(*id, 0, pkts, kBurstSize), 8);
  rte_pktmbuf_free_bulk(pkts, 8);
  const PortCounters c = table_.get(*id)->counters();
  EXPECT_EQ(c.rx_packets, 40U);
  EXPECT_EQ(c.tx_packets, 20U);
}

// An ethdev behind a Ferry id that is not its ethdev id: bursts and counters
// reach the right ethdev (net_null: RX makes 64-byte frames, TX frees).
TEST_F(PortTableTest, EthdevBurstsUseTheEthdevId) {
  // Two socket-style ports first, so the ethdev's Ferry id (2) differs from
  // its ethdev id.
  ASSERT_TRUE(table_.add(fake()));
  ASSERT_TRUE(table_.add(fake()));
  const std::string name = fmt::format("net_null_pt{}", counter_);
  ASSERT_EQ(rte_dev_probe(name.c_str()), 0);
  std::uint16_t ethdev = 0;
  ASSERT_EQ(rte_eth_dev_get_port_by_name(name.c_str(), &ethdev), 0);
  rte_eth_conf conf{};
  ASSERT_EQ(rte_eth_dev_configure(ethdev, 1, 1, &conf), 0);
  ASSERT_EQ(rte_eth_rx_queue_setup(ethdev, 0, 64, SOCKET_ID_ANY, nullptr, pool_), 0);
  ASSERT_EQ(rte_eth_tx_queue_setup(ethdev, 0, 64, SOCKET_ID_ANY, nullptr), 0);
  ASSERT_EQ(rte_eth_dev_start(ethdev), 0);

  PortSetup setup(pool_, 1, frame_sizes(1500));
  auto id = table_.add(std::make_unique<EthdevPort>(setup, ethdev, "null", name));
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, 2);
  EXPECT_NE(*id, ethdev);
  EXPECT_EQ(table_.io(*id).ethdev, ethdev);

  rte_mbuf* pkts[kBurstSize];
  const std::uint16_t n = table_.rx_burst(*id, 0, pkts, kBurstSize);
  ASSERT_EQ(n, kBurstSize);
  EXPECT_EQ(PortTable::tx_burst(&table_, *id, 0, pkts, n), n);
  const PortCounters c = table_.get(*id)->counters();
  EXPECT_EQ(c.rx_packets, kBurstSize);
  EXPECT_EQ(c.tx_packets, kBurstSize);

  // Removing it stops, closes and unplugs the vdev.
  table_.remove(*id);
  std::uint16_t gone = 0;
  EXPECT_NE(rte_eth_dev_get_port_by_name(name.c_str(), &gone), 0);
}

// What an ethdev's TX offloads let the pipeline hand over whole, and the
// flags a NIC driver needs beyond Ferry's metadata.
TEST(EthdevTxCaps, FollowTheDevicesOffloads) {
  constexpr std::uint64_t kMulti = RTE_ETH_TX_OFFLOAD_MULTI_SEGS, kIp = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM,
                          kTcp = RTE_ETH_TX_OFFLOAD_TCP_CKSUM, kUdp = RTE_ETH_TX_OFFLOAD_UDP_CKSUM,
                          kTso = RTE_ETH_TX_OFFLOAD_TCP_TSO, kUso = RTE_ETH_TX_OFFLOAD_UDP_TSO,
                          kVxlan = RTE_ETH_TX_OFFLOAD_VXLAN_TNL_TSO, kOuterIp = RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM;
  struct Case {
    const char* what;
    std::uint64_t capa;
    PortTxCaps caps;
  };
  const Case cases[] = {
      {"af_packet (multi-segment, VLAN insertion)", kMulti | RTE_ETH_TX_OFFLOAD_VLAN_INSERT, 0},
      {"nothing", 0, 0},
      {"checksums", kIp | kTcp | kUdp, kTxCapL4Csum},
      {"TCP checksum alone", kTcp, 0},
      {"TSO without multi-segment frames", kIp | kTcp | kUdp | kTso, kTxCapL4Csum},
      {"TSO", kMulti | kIp | kTcp | kUdp | kTso, kTxCapTso | kTxCapL4Csum},
      {"TSO and USO", kMulti | kIp | kTcp | kUdp | kTso | kUso, kTxCapTso | kTxCapUso | kTxCapL4Csum},
      {"tunnel TSO without the outer checksum", kMulti | kIp | kTcp | kUdp | kTso | kVxlan, kTxCapTso | kTxCapL4Csum},
      {"tunnel TSO", kMulti | kIp | kTcp | kUdp | kTso | kVxlan | kOuterIp,
       kTxCapTso | kTxCapL4Csum | kTxCapTunnelTso | kTxCapTunnelL4Csum},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::uint64_t on = ethdev_tx_offloads(c.capa);
    EXPECT_EQ(on & ~c.capa, 0U) << "only what the device offers";
    EXPECT_EQ(ethdev_tx_caps(on), c.caps);
  }
}

TEST_F(PortTableTest, NicFlagsForSuperFrames) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  ASSERT_NE(m, nullptr);
  m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
  nic_tx_flags(m);
  EXPECT_EQ(m->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM) << "a checksum request alone is unchanged";
  m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
  nic_tx_flags(m);
  EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) << "TSO over IPv4 rewrites the header per segment";
  EXPECT_FALSE(m->ol_flags & RTE_MBUF_F_TX_OUTER_IP_CKSUM);
  m->ol_flags = RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TUNNEL_VXLAN |
                RTE_MBUF_F_TX_OUTER_IPV4;
  nic_tx_flags(m);
  EXPECT_FALSE(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) << "IPv6 has no header checksum";
  EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_TX_OUTER_IP_CKSUM);
  rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace ferry::dataplane::app
