// The vnet port's receive buffers: a received frame becomes one head mbuf
// or a two-segment chain (head + large buffer) with the right lengths,
// what is taken leaves the posted stacks and is refilled, and the buffers
// go back to their pools; the port's counter names; its configuration.
#include "dataplane/app/vnet_port.h"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>

#include "tests/dataplane/app/eal_env.h"

namespace ferry::dataplane::app {
namespace {

class VnetBuffersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::eal_up()) GTEST_SKIP() << "EAL could not start (--no-huge) here";
    heads_ = rte_pktmbuf_pool_create(fmt::format("vbh{}", counter_++).c_str(), 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     SOCKET_ID_ANY);
    ASSERT_NE(heads_, nullptr);
    auto buffers = VnetBuffers::create(heads_, 2);
    ASSERT_TRUE(buffers) << buffers.error().message;
    buffers_ = std::move(*buffers);
  }
  void TearDown() override {
    buffers_.reset();
    rte_mempool_free(heads_);
  }

  static inline int counter_ = 0;
  rte_mempool* heads_ = nullptr;
  std::unique_ptr<VnetBuffers> buffers_;
};

TEST_F(VnetBuffersTest, GeometryAndBudget) {
  EXPECT_EQ(buffers_->head_room(), RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM);
  // Two workers: a posted burst and one in flight each, plus two of slack,
  // as 2^n - 1.
  EXPECT_EQ(buffers_->large_count(), 255U);
  EXPECT_EQ(rte_pktmbuf_data_room_size(buffers_->large_pool()), kVnetLargeBufSize);
  // Largest frame: a 64 KB IPv4 datagram + Ethernet + a VLAN tag fits.
  EXPECT_GE(std::uint32_t{buffers_->head_room()} + kVnetLargeBufSize, 65535U + 14 + 4);
  EXPECT_LT(buffers_->memory_bytes(), 18ULL << 20);
}

TEST_F(VnetBuffersTest, FramesBecomeOneMbufOrATwoSegmentChain) {
  ASSERT_EQ(buffers_->refill(0, 4), 4);
  auto& posted = buffers_->posted(0);
  const std::uint16_t room = buffers_->head_room();
  const std::uint32_t in_use = rte_mempool_in_use_count(buffers_->large_pool());

  // What the kernel wrote: the first `room` bytes into the head, the rest
  // from the start of the large buffer.
  std::memset(rte_pktmbuf_mtod(posted.head[1], void*), 0xab, room);
  std::memset(posted.large[1]->buf_addr, 0xcd, 1000);

  rte_mbuf* small = vnet_take_frame(posted, 0, 60, room);
  EXPECT_EQ(small->nb_segs, 1);
  EXPECT_EQ(small->pkt_len, 60U);
  EXPECT_EQ(small->data_len, 60);
  EXPECT_EQ(posted.head[0], nullptr);
  EXPECT_NE(posted.large[0], nullptr) << "a small frame leaves its large buffer posted";

  rte_mbuf* exact = vnet_take_frame(posted, 2, room, room);
  EXPECT_EQ(exact->nb_segs, 1);
  EXPECT_EQ(exact->pkt_len, room);

  const std::uint32_t big = room + 1000U;
  rte_mbuf* chain = vnet_take_frame(posted, 1, big, room);
  EXPECT_EQ(chain->nb_segs, 2);
  EXPECT_EQ(chain->pkt_len, big);
  EXPECT_EQ(chain->data_len, room);
  ASSERT_NE(chain->next, nullptr);
  EXPECT_EQ(chain->next->data_len, 1000);
  EXPECT_EQ(chain->next->data_off, 0);
  EXPECT_EQ(rte_pktmbuf_mtod(chain->next, const std::uint8_t*)[0], 0xcd);
  EXPECT_EQ(rte_pktmbuf_mtod(chain, const std::uint8_t*)[room - 1], 0xab);
  EXPECT_EQ(rte_pktmbuf_is_contiguous(chain), 0);
  EXPECT_EQ(posted.large[1], nullptr);

  // The largest frame the posted buffers take.
  rte_mbuf* biggest = vnet_take_frame(posted, 3, room + std::uint32_t{kVnetLargeBufSize}, room);
  EXPECT_EQ(biggest->pkt_len, room + std::uint32_t{kVnetLargeBufSize});
  EXPECT_EQ(biggest->next->data_len, kVnetLargeBufSize);

  posted.compact();
  EXPECT_EQ(posted.heads, 0);
  EXPECT_EQ(posted.larges, 2) << "slots 0 and 2 kept their large buffers";
  EXPECT_EQ(buffers_->refill(0, 4), 4);
  EXPECT_EQ(posted.heads, 4);
  EXPECT_EQ(posted.larges, 4);

  rte_pktmbuf_free(small);
  rte_pktmbuf_free(exact);
  rte_pktmbuf_free(chain);
  rte_pktmbuf_free(biggest);
  // Freeing the chains gave the large buffers back: only the posted ones are out.
  EXPECT_EQ(rte_mempool_in_use_count(buffers_->large_pool()), in_use);
  posted.release();
  EXPECT_EQ(rte_mempool_in_use_count(buffers_->large_pool()), 0U);
}

TEST_F(VnetBuffersTest, QueuesHaveTheirOwnStacks) {
  EXPECT_EQ(buffers_->refill(0, 32), 32);
  EXPECT_EQ(buffers_->refill(1, 8), 8);
  EXPECT_EQ(buffers_->posted(0).larges, 32);
  EXPECT_EQ(buffers_->posted(1).larges, 8);
  // Refilling to fewer than posted changes nothing.
  EXPECT_EQ(buffers_->refill(0, 4), 4);
  EXPECT_EQ(buffers_->posted(0).heads, 32);
}

TEST_F(VnetBuffersTest, AnEmptyLargePoolPostsNothing) {
  std::vector<rte_mbuf*> taken(buffers_->large_count());
  ASSERT_EQ(rte_pktmbuf_alloc_bulk(buffers_->large_pool(), taken.data(), static_cast<unsigned>(taken.size())), 0);
  EXPECT_EQ(buffers_->refill(0, 32), 0) << "no message without room for a super-frame";
  rte_pktmbuf_free_bulk(taken.data(), static_cast<unsigned>(taken.size()));
  EXPECT_EQ(buffers_->refill(0, 32), 32);
}

TEST(VnetPortCounters, TemplateListsEveryDropReasonThenTheCounts) {
  const auto names = VnetPort::counter_template();
  ASSERT_EQ(names.size(), kVnetDropCount + 4);
  for (std::size_t i = 0; i < kVnetDropCount; ++i) {
    EXPECT_TRUE(names[i].drop);
    EXPECT_EQ(names[i].name, kVnetDropInfo[i].name);
  }
  for (std::size_t i = kVnetDropCount; i < names.size(); ++i) {
    EXPECT_FALSE(names[i].drop) << names[i].name;
    EXPECT_EQ(names[i].name.rfind("vnet_", 0), 0U);
    EXPECT_EQ(names[i].value, 0U);
  }
}

TEST(VnetConfigTest, Validate) {
  VnetConfig c;
  EXPECT_TRUE(c.validate());
  c.queues = 0;
  EXPECT_FALSE(c.validate());
  c.queues = 2;
  c.rcvbuf_bytes = 64 << 10;
  EXPECT_FALSE(c.validate());
}

TEST(VnetPortOpen, MissingInterfaceIsNamed) {
  if (!testing::eal_up()) GTEST_SKIP();
  auto heads = rte_pktmbuf_pool_create("vbopen", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(heads, nullptr);
  auto buffers = VnetBuffers::create(heads, 1);
  ASSERT_TRUE(buffers);
  auto port = VnetPort::open("nosuchif0", **buffers, VnetConfig{});
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("does not exist"), std::string::npos) << port.error().message;
  buffers->reset();
  rte_mempool_free(heads);
}

}  // namespace
}  // namespace ferry::dataplane::app
