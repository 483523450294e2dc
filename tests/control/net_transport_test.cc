// NetTransport on loopback sockets (no root): datagrams and stream exchanges
// sealed end to end, wrong keys and garbage dropped and counted, oversize
// frames refused, timeouts and refused connections reported exactly once.
#include "control/gossip/net_transport.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <functional>
#include <map>
#include <random>

#include "tests/common/log_capture.h"

namespace ferry::gossip {
namespace {

using namespace std::chrono_literals;

std::int64_t kNowMs() { return wall_clock_ms(); }

// A stream header payload: u32 length, then zeros for the secretstream header.
std::array<std::uint8_t, kStreamHeaderPayload> u32_header(std::uint32_t length) {
  std::array<std::uint8_t, kStreamHeaderPayload> h{};
  h[0] = static_cast<std::uint8_t>(length >> 24);
  h[1] = static_cast<std::uint8_t>(length >> 16);
  h[2] = static_cast<std::uint8_t>(length >> 8);
  h[3] = static_cast<std::uint8_t>(length);
  return h;
}

class Recorder final : public PacketHandler {
 public:
  void on_packet(const Address& from, Bytes data) override {
    packets.emplace_back(from, std::string(reinterpret_cast<const char*>(data.data()), data.size()));
  }
  std::string on_stream_request(const Address&, Bytes request) override {
    const std::string req(reinterpret_cast<const char*>(request.data()), request.size());
    requests.push_back(req);
    return req == "silent" ? std::string{} : "re:" + req;
  }
  void on_stream_response(uint64_t id, Result<std::string> response) override {
    ++outcomes[id];
    responses[id] = response ? *response : "ERROR " + response.error().message;
  }
  std::vector<std::pair<Address, std::string>> packets;
  std::vector<std::string> requests;
  std::map<uint64_t, std::string> responses;
  std::map<uint64_t, int> outcomes;
};

// A loopback /24 unique to this process.
std::string ip(int host) {
  const int pid = ::getpid();
  return fmt::format("127.{}.{}.{}", 1 + (pid / 250) % 250, 1 + pid % 250, host);
}
Address addr(int host, uint16_t port = 7946) { return *Address::parse(fmt::format("{}:{}", ip(host), port)); }

struct Peer {
  Keyring ring;
  Recorder rec;
  std::unique_ptr<NetTransport> t;
  Peer(Clock& clock, int host, const Key& key, NetTransportConfig cfg = {}) {
    EXPECT_TRUE(ring.install(key));
    cfg.bind = addr(host);
    auto r = NetTransport::open(cfg, ring, clock);
    EXPECT_TRUE(r) << r.error().message;
    t = std::move(*r);
    t->set_handler(&rec);
  }
};

// Drives the given transports until pred() or 5 s.
bool pump(std::initializer_list<NetTransport*> ts, const std::function<bool()>& pred, SteadyClock& clock) {
  const TimePoint deadline = clock.now() + 5s;
  while (clock.now() < deadline) {
    if (pred()) return true;
    for (NetTransport* t : ts) t->poll_once(clock.now() + 5ms);
  }
  return pred();
}

TEST(NetTransport, DatagramsAndStreamsRoundTrip) {
  SteadyClock clock;
  const Key key = Keyring::generate();
  Peer a(clock, 1, key), b(clock, 2, key);
  a.t->send_packet(addr(2), "hello");
  ASSERT_TRUE(pump(
      {a.t.get(), b.t.get()}, [&] { return b.rec.packets.size() == 1; }, clock));
  EXPECT_EQ(b.rec.packets[0].second, "hello");
  EXPECT_EQ(b.rec.packets[0].first, addr(1));

  a.t->request(addr(2), 7, "ask");
  a.t->request(addr(2), 8, std::string(200'000, 'x'));  // a big frame crosses several reads
  ASSERT_TRUE(pump(
      {a.t.get(), b.t.get()}, [&] { return a.rec.responses.size() == 2; }, clock));
  EXPECT_EQ(a.rec.responses[7], "re:ask");
  EXPECT_EQ(a.rec.responses[8].size(), 200'003u);
  EXPECT_EQ(a.t->open_streams(), 0u);
  EXPECT_TRUE(pump(
      {a.t.get(), b.t.get()}, [&] { return b.t->open_streams() == 0; }, clock));
}

TEST(NetTransport, WrongKeyIsDroppedAndCounted) {
  SteadyClock clock;
  Peer a(clock, 3, Keyring::generate()), b(clock, 4, Keyring::generate());
  a.t->send_packet(addr(4), "let me in");
  a.t->request(addr(4), 1, "join");
  ASSERT_TRUE(pump(
      {a.t.get(), b.t.get()}, [&] { return a.rec.outcomes.size() == 1; }, clock));
  EXPECT_TRUE(b.rec.packets.empty());
  EXPECT_TRUE(b.rec.requests.empty());
  EXPECT_EQ(a.rec.responses[1].rfind("ERROR", 0), 0u);
  EXPECT_EQ(b.t->envelope_stats().drops[static_cast<std::size_t>(EnvelopeDrop::kUnknownKey)], 2u);
  EXPECT_EQ(b.t->counter(NetCounter::udp_rx_dropped), 1u);
}

// A datagram captured on the wire and sent to another node does not open
// there (the recipient is authenticated); replays to the same node are
// covered by the envelope's tests.
TEST(NetTransport, CapturedDatagramReplayedIsDropped) {
  SteadyClock clock;
  const Key key = Keyring::generate();
  Peer a(clock, 10, key), b(clock, 11, key);
  // A plain UDP socket plays the eavesdropper at 127.x.y.12.
  const int spy = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in spy_addr{};
  spy_addr.sin_family = AF_INET;
  spy_addr.sin_port = htons(7946);
  ::inet_pton(AF_INET, ip(12).c_str(), &spy_addr.sin_addr);
  ASSERT_EQ(::bind(spy, reinterpret_cast<sockaddr*>(&spy_addr), sizeof spy_addr), 0);
  a.t->send_packet(addr(12), "transfer 100");
  char buf[2048];
  const ssize_t n = ::recv(spy, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  sockaddr_in to_b{};
  to_b.sin_family = AF_INET;
  to_b.sin_port = htons(7946);
  ::inet_pton(AF_INET, ip(11).c_str(), &to_b.sin_addr);
  for (int i = 0; i < 3; ++i) {
    ::sendto(spy, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&to_b), sizeof to_b);
  }
  ::close(spy);
  // Sealed for the spy's address, so it does not open at B even once.
  ASSERT_TRUE(pump(
      {b.t.get()},
      [&] { return b.t->envelope_stats().drops[static_cast<std::size_t>(EnvelopeDrop::kAuthFailed)] == 3; }, clock));
  EXPECT_TRUE(b.rec.packets.empty());
}

TEST(NetTransport, GarbageOnBothSocketsNeverReachesTheHandler) {
  SteadyClock clock;
  Peer b(clock, 5, Keyring::generate());
  const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(7946);
  ::inet_pton(AF_INET, ip(5).c_str(), &sa.sin_addr);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200; ++i) {
    std::string junk(rng() % 1500, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    ::sendto(udp, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  ::close(udp);
  // TCP: a header-sized block of junk (fails authentication at once), a
  // truncated header (EOF), and a genuine header, sealed with the cluster
  // key, announcing more than max_frame_size (oversize, before any body).
  auto tcp_send = [&](const std::string& bytes) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    return fd;
  };
  Envelope member(b.ring, {}, 99);
  std::string huge_header = seal_stream(member, addr(5), "", kNowMs());
  huge_header.resize(kStreamHeaderWireSize);
  const std::string oversize_body(reinterpret_cast<const char*>(u32_header(1u << 30).data()), kStreamHeaderPayload);
  std::vector<int> fds;
  fds.push_back(tcp_send(std::string(kStreamHeaderWireSize, 'j')));
  fds.push_back(tcp_send(std::string(kStreamHeaderWireSize / 2, 'k')));
  fds.push_back(tcp_send(member.seal(Channel::kStream, addr(5), oversize_body, kNowMs())));
  ::close(fds[1]);  // truncated: EOF before the whole header
  ASSERT_TRUE(pump(
      {b.t.get()},
      [&] {
        return b.t->counter(NetCounter::tcp_frame_oversize) == 1 && b.t->counter(NetCounter::tcp_in_dropped) == 3 &&
               b.t->counter(NetCounter::udp_rx_dropped) == 200;
      },
      clock))
      << b.t->counter(NetCounter::tcp_in_dropped) << " " << b.t->counter(NetCounter::udp_rx_dropped);
  ::close(fds[0]);
  ::close(fds[2]);
  EXPECT_TRUE(b.rec.packets.empty());
  EXPECT_TRUE(b.rec.requests.empty());
}

// Connections that announce huge frames and never authenticate: before the
// stream format authenticated lengths, 32 of them made an agent buffer 1 GiB.
// Now each holds at most one header; per-source limits and eviction keep
// room for a real member, whose exchange completes.
TEST(NetTransport, UnauthenticatedFloodHoldsOnlyHeadersAndMembersGetIn) {
  testing::LogCapture log;
  SteadyClock clock;
  const Key key = Keyring::generate();
  NetTransportConfig cfg;
  cfg.max_inbound_streams = 16;
  cfg.max_inbound_per_source = 4;
  Peer a(clock, 20, key), b(clock, 21, key, cfg);
  sockaddr_in to_b{};
  to_b.sin_family = AF_INET;
  to_b.sin_port = htons(7946);
  ::inet_pton(AF_INET, ip(21).c_str(), &to_b.sin_addr);
  // 8 attacker addresses x 5 connections: the old length prefix of 32 MiB,
  // then 60 KB of junk each, sent from 127.x.y.(30..37).
  const std::string junk = std::string("\x02\x00\x00\x00", 4) + std::string(60'000, 'z');
  std::vector<int> fds;
  for (int host = 30; host < 38; ++host) {
    for (int i = 0; i < 5; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      ::inet_pton(AF_INET, ip(host).c_str(), &src.sin_addr);
      EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src), 0);
      (void)::connect(fd, reinterpret_cast<sockaddr*>(&to_b), sizeof to_b);  // non-blocking: EINPROGRESS
      fds.push_back(fd);
    }
    for (int k = 0; k < 20; ++k) b.t->poll_once(clock.now() + 1ms);  // accept as they come
  }
  for (int fd : fds) ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
  for (int k = 0; k < 50; ++k) b.t->poll_once(clock.now() + 1ms);
  EXPECT_LE(b.t->open_streams(), cfg.max_inbound_streams);
  EXPECT_LE(b.t->buffered_bytes(), cfg.max_inbound_streams * kStreamHeaderWireSize);
  EXPECT_GE(b.t->counter(NetCounter::tcp_in_source_limit), 8u);  // the 5th from each source
  // Logged, but not once per connection.
  const auto refused = log.find(spdlog::level::warn, {"max_inbound_per_source reached"});
  EXPECT_GE(refused.size(), 1u) << log.dump();
  EXPECT_LE(refused.size(), 2u) << log.dump();
  // A member's join-sized exchange still completes, by eviction if need be.
  a.t->request(addr(21), 1, std::string(300'000, 'm'));
  ASSERT_TRUE(pump(
      {a.t.get(), b.t.get()}, [&] { return a.rec.outcomes.size() == 1; }, clock));
  EXPECT_EQ(a.rec.responses[1].size(), 300'003u) << a.rec.responses[1].substr(0, 100);
  for (int fd : fds) ::close(fd);
}

// 10 000 datagrams of four kinds of garbage: every one counted, and a line
// per kind when it starts and one with the count after the interval, each
// naming the last source; nothing per datagram.
TEST(NetTransport, GarbageFloodMakesAFewWarningsWithTheCount) {
  testing::LogCapture log;
  ManualClock clock;
  const Key key = Keyring::generate();
  Peer b(clock, 40, key);
  const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  src.sin_port = htons(5555);
  ::inet_pton(AF_INET, ip(41).c_str(), &src.sin_addr);
  ASSERT_EQ(::bind(udp, reinterpret_cast<sockaddr*>(&src), sizeof src), 0);
  sockaddr_in to_b{};
  to_b.sin_family = AF_INET;
  to_b.sin_port = htons(7946);
  ::inet_pton(AF_INET, ip(40).c_str(), &to_b.sin_addr);

  Envelope member(b.ring, {}, 99);
  const KeyId wrong = Keyring::id_of(Keyring::generate());
  std::string unknown_key = std::string("\x02\x01", 2) + std::string(4, '\0') + std::string(90, 'u');
  for (int i = 0; i < 4; ++i) unknown_key[2 + i] = static_cast<char>(wrong >> (24 - 8 * i));
  const std::string garbage[] = {
      std::string("\x02\x01zz", 4),                                             // too_short
      std::string(1, '\x09') + std::string(90, 'v'),                            // bad_version
      unknown_key,                                                              // unknown_key
      member.seal(Channel::kDatagram, addr(42), "for someone else", kNowMs()),  // auth_failed
  };
  const EnvelopeDrop kinds[] = {EnvelopeDrop::kTooShort, EnvelopeDrop::kBadVersion, EnvelopeDrop::kUnknownKey,
                                EnvelopeDrop::kAuthFailed};
  auto dropped = [&] { return b.t->counter(NetCounter::udp_rx_dropped); };
  for (int batch = 0; batch < 50; ++batch) {  // 200 at a time: the socket buffer holds them
    for (int i = 0; i < 200; ++i) {
      const std::string& g = garbage[i % 4];
      ::sendto(udp, g.data(), g.size(), 0, reinterpret_cast<sockaddr*>(&to_b), sizeof to_b);
    }
    const std::uint64_t want = (batch + 1) * 200u;
    for (int k = 0; k < 1000 && dropped() < want; ++k) b.t->poll_once(clock.now());
    ASSERT_EQ(dropped(), want);
    clock.advance(20ms);  // the whole flood within one second
  }
  ::close(udp);
  for (EnvelopeDrop d : kinds) EXPECT_EQ(b.t->envelope_stats().drops[static_cast<std::size_t>(d)], 2'500u);
  EXPECT_TRUE(b.rec.packets.empty());

  auto warnings = log.find(spdlog::level::warn, {"gossip: "});
  EXPECT_EQ(warnings.size(), 4u) << log.dump();  // the first of each kind
  EXPECT_EQ(log.find(spdlog::level::warn,
                     {"dropped a datagram from " + ip(41) + ":5555", "unknown_key", "a host with another cluster key"})
                .size(),
            1u)
      << log.dump();
  clock.advance(10s);           // 11 s after the first lines
  b.t->poll_once(clock.now());  // the poll loop reports what the interval gathered
  warnings = log.find(spdlog::level::warn, {"gossip: "});
  EXPECT_EQ(warnings.size(), 8u) << log.dump();
  for (EnvelopeDrop d : kinds) {
    EXPECT_EQ(log.find(spdlog::level::warn, {"2499 datagrams dropped in the last 11 s", "last from " + ip(41) + ":5555",
                                             envelope_drop_name(d)})
                  .size(),
              1u)
        << envelope_drop_name(d) << '\n'
        << log.dump();
  }
  clock.advance(60s);
  b.t->poll_once(clock.now());
  EXPECT_EQ(log.find(spdlog::level::warn, {}).size(), 8u);  // quiet now: nothing more
}

TEST(NetTransport, RefusedSilentAndTimedOutExchangesEndOnce) {
  SteadyClock clock;
  const Key key = Keyring::generate();
  NetTransportConfig cfg;
  cfg.stream_timeout = 300ms;
  Peer a(clock, 6, key, cfg), b(clock, 7, key, cfg);
  // Nobody listens on 127.x.y.8: connection refused, reported later, not inside request().
  a.t->request(addr(8), 1, "anyone?");
  EXPECT_TRUE(a.rec.outcomes.empty());
  // The peer answers nothing: closed without a response.
  a.t->request(addr(7), 2, "silent");
  // A listener that accepts and never answers: timeout.
  const int mute = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(7946);
  ::inet_pton(AF_INET, ip(9).c_str(), &sa.sin_addr);
  ASSERT_EQ(::bind(mute, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(mute, 4), 0);
  a.t->request(addr(9), 3, "hello?");
  ASSERT_TRUE(pump(
      {a.t.get(), b.t.get()}, [&] { return a.rec.outcomes.size() == 3; }, clock));
  ::close(mute);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(a.rec.outcomes[id], 1) << id;
    EXPECT_EQ(a.rec.responses[id].rfind("ERROR", 0), 0u) << id << " " << a.rec.responses[id];
  }
  EXPECT_NE(a.rec.responses[3].find("timed out"), std::string::npos);
  EXPECT_EQ(a.t->open_streams(), 0u);
}

TEST(NetTransportConfig, Validate) {
  NetTransportConfig c;
  EXPECT_FALSE(c.validate());  // no bind address
  c.bind = *Address::parse("127.0.0.1:7946");
  EXPECT_TRUE(c.validate());
  c.stream_timeout = 0ms;
  EXPECT_FALSE(c.validate());
}

}  // namespace
}  // namespace ferry::gossip
