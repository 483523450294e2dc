// The pure parts of counting the kernel's socket ring drops: /proc parsing,
// picking a port's new sockets, and adding up reads (af_packet's counter
// resets on every read, af_xdp's does not), with a made-up reader.
#include "dataplane/app/ring_drops.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>

namespace ferry::dataplane::app {
namespace {

TEST(RingDrops, SocketInodeFromFdLink) {
  EXPECT_EQ(socket_inode("socket:[12345]"), 12345U);
  EXPECT_EQ(socket_inode("socket:[0]"), 0U);
  EXPECT_FALSE(socket_inode("socket:[]"));
  EXPECT_FALSE(socket_inode("socket:[12a]"));
  EXPECT_FALSE(socket_inode("socket:[12"));
  EXPECT_FALSE(socket_inode("pipe:[12345]"));
  EXPECT_FALSE(socket_inode("/dev/null"));
  EXPECT_FALSE(socket_inode("anon_inode:[eventfd]"));
}

TEST(RingDrops, ParsesProcNetPacket) {
  const char* text =
      "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"
      "ffff9c4b8a5e4000 3      3    0003   7     1 0      0      812345\n"
      "ffff9c4b8a5e6000 3      3    0003   9     1 4352   0      812346\n"
      "garbage line\n"
      "ffff9c4b8a5e8000 3      2    0800   0     0 0      1000   99\n";
  const auto table = parse_packet_sockets(text);
  ASSERT_EQ(table.size(), 3U);
  EXPECT_EQ(table.at(812345), 7U);
  EXPECT_EQ(table.at(812346), 9U);
  EXPECT_EQ(table.at(99), 0U);
  EXPECT_TRUE(parse_packet_sockets("").empty());
}

TEST(RingDrops, NewSocketsAreTheOnesThatAppeared) {
  const std::map<int, std::uint64_t> before{{3, 100}, {4, 101}, {7, 102}};
  const std::map<int, std::uint64_t> after{{3, 100}, {4, 200}, {8, 201}, {9, 202}};
  // fd 4 was closed and reused for a new socket; 7 closed; 8 and 9 new.
  const std::vector<RingSocket> want{{4, 200}, {8, 201}, {9, 202}};
  EXPECT_EQ(new_sockets(before, after), want);
  EXPECT_TRUE(new_sockets(after, after).empty());
}

TEST(RingDrops, PacketSocketsOnTheInterfaceOnly) {
  const std::vector<RingSocket> fresh{{10, 1}, {11, 2}, {12, 3}, {13, 4}};
  const std::map<std::uint64_t, unsigned> table{{1, 5}, {2, 6}, {4, 5}};  // 3: not a packet socket
  const std::vector<RingSocket> want{{10, 1}, {13, 4}};
  EXPECT_EQ(packet_sockets_on(fresh, table, 5), want);
  EXPECT_TRUE(packet_sockets_on(fresh, table, 42).empty());
}

TEST(RingDrops, SocketFdsListsOurSockets) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  const auto fds = socket_fds();
  EXPECT_TRUE(fds.count(pair[0]) == 1 && fds.count(pair[1]) == 1);
  close(pair[0]);
  close(pair[1]);
  EXPECT_EQ(socket_fds().count(pair[0]), 0U);
}

// Hands out scripted values per fd; nullopt when the script runs out.
struct ScriptedReader {
  std::map<int, std::deque<std::optional<std::uint64_t>>> script;
  int reads = 0;
  std::optional<std::uint64_t> operator()(RingKind, const RingSocket& s) {
    ++reads;
    auto& q = script[s.fd];
    if (q.empty()) return std::nullopt;
    auto v = q.front();
    q.pop_front();
    return v;
  }
};

TEST(RingDrops, AfPacketReadsAddUpBecauseTheKernelResets) {
  auto reader = std::make_shared<ScriptedReader>();
  reader->script[3] = {5, 0, 7};
  reader->script[4] = {1, 2, 3};
  RingDrops drops([reader](RingKind k, const RingSocket& s) { return (*reader)(k, s); });
  drops.add(1, RingKind::kAfPacket, {{3, 30}, {4, 40}});
  EXPECT_EQ(drops.sockets(1), 2U);
  EXPECT_EQ(drops.dropped(1), 0U);
  drops.poll();
  EXPECT_EQ(drops.dropped(1), 6U);
  drops.poll(1);
  EXPECT_EQ(drops.dropped(1), 8U);
  drops.poll(1);
  EXPECT_EQ(drops.dropped(1), 18U);
}

TEST(RingDrops, AfXdpReadsAreCumulative) {
  auto reader = std::make_shared<ScriptedReader>();
  reader->script[5] = {10, 10, 25};
  RingDrops drops([reader](RingKind k, const RingSocket& s) { return (*reader)(k, s); });
  drops.add(2, RingKind::kAfXdp, {{5, 50}});
  drops.poll();
  EXPECT_EQ(drops.dropped(2), 10U);
  drops.poll();
  EXPECT_EQ(drops.dropped(2), 10U);
  drops.poll();
  EXPECT_EQ(drops.dropped(2), 25U);
}

TEST(RingDrops, AGoneSocketKeepsItsCountAndIsNotReadAgain) {
  auto reader = std::make_shared<ScriptedReader>();
  reader->script[3] = {4, std::nullopt, 100};
  reader->script[4] = {1, 1, 1};
  RingDrops drops([reader](RingKind k, const RingSocket& s) { return (*reader)(k, s); });
  drops.add(1, RingKind::kAfPacket, {{3, 30}, {4, 40}});
  drops.poll();
  drops.poll();
  EXPECT_EQ(drops.dropped(1), 6U);
  const int reads = reader->reads;
  drops.poll();
  EXPECT_EQ(reader->reads, reads + 1);  // only fd 4
  EXPECT_EQ(drops.dropped(1), 7U);
}

TEST(RingDrops, PortsAreSeparateAndRemovable) {
  auto reader = std::make_shared<ScriptedReader>();
  reader->script[3] = {2};
  reader->script[6] = {9};
  RingDrops drops([reader](RingKind k, const RingSocket& s) { return (*reader)(k, s); });
  drops.add(1, RingKind::kAfPacket, {{3, 30}});
  drops.add(2, RingKind::kAfPacket, {{6, 60}});
  drops.poll(2);
  EXPECT_EQ(drops.dropped(1), 0U);
  EXPECT_EQ(drops.dropped(2), 9U);
  drops.remove(2);
  EXPECT_EQ(drops.dropped(2), 0U);
  EXPECT_EQ(drops.sockets(2), 0U);
  EXPECT_EQ(drops.dropped(7), 0U);
  drops.poll();
  EXPECT_EQ(drops.dropped(1), 2U);
}

TEST(RingDrops, RealReaderRefusesAForeignSocket) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  const auto inode = socket_fds().at(pair[0]);
  // A unix socket answers neither SOL_PACKET nor SOL_XDP; a wrong inode is refused before asking.
  EXPECT_FALSE(read_ring_drops(RingKind::kAfPacket, {pair[0], inode}));
  EXPECT_FALSE(read_ring_drops(RingKind::kAfXdp, {pair[0], inode}));
  EXPECT_FALSE(read_ring_drops(RingKind::kAfPacket, {pair[0], inode + 1}));
  EXPECT_TRUE(ring_sockets(RingKind::kAfXdp, 1, {{pair[0], inode}}).empty());
  close(pair[0]);
  close(pair[1]);
}

}  // namespace
}  // namespace ferry::dataplane::app
