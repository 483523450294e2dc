// libFuzzer target: the envelope decoder and the table message handlers.
// Built only with -Dfuzz=true (clang): CXX=clang++ meson setup build-fuzz -Dfuzz=true
//   ninja -C build-fuzz tests/control/fuzz_tables && build-fuzz/tests/control/fuzz_tables -max_total_time=60
// The first input byte picks the entry point; the rest is the message. A
// crash, a sanitizer report or a leak is a finding; nothing else is asserted
// except that an unauthenticated datagram never opens.
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "control/gossip/endpoint_table.h"
#include "control/gossip/envelope.h"
#include "control/gossip/keyring.h"
#include "control/gossip/node.h"
#include "control/gossip/table_db.h"

namespace ferry::gossip {
namespace {

class NullTransport final : public Transport {
 public:
  [[nodiscard]] Address local_address() const override { return Address{0x0a000001, 7946}; }
  void send_packet(const Address&, std::string) override {}
  void request(const Address&, uint64_t, std::string) override {}
};

struct World {
  ManualClock clock;
  NullTransport transport;
  Keyring ring;
  Envelope sealer;
  Envelope opener;
  Node node;
  TableDb db;
  World()
      : ring(make_ring()),
        sealer(ring, {}, 1),
        opener(ring, {}, 2),
        node(Config::lan(), "fuzz-node", clock, transport, 1),
        db(TablesConfig{}, node, clock, 2) {
    node.start();
    (void)db.join_network("net1");
  }
  static Keyring make_ring() {
    Keyring r;
    Key k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i * 7 + 1);
    (void)r.install(k);
    return r;
  }
};

World& world() {
  static World* w = [] {
    google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 in string fields is expected here
    spdlog::set_level(spdlog::level::off);     // the node's membership lines, one per input
    return new World();
  }();  // never destroyed: libFuzzer exits without unwinding
  return *w;
}

}  // namespace
}  // namespace ferry::gossip

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ferry::gossip;
  if (size == 0) return 0;
  World& w = world();
  const std::uint8_t mode = data[0] % 9;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const Bytes bytes = as_bytes(body);
  constexpr std::int64_t kNow = 1'700'000'000'000;
  const Address kTo{0x0a000001, 7946};
  std::string out;
  switch (mode) {
    case 0:  // raw bytes at the UDP socket: must never open (no key)
      if (w.opener.open(Channel::kDatagram, kTo, body, kNow, out) == EnvelopeDrop::kNone) std::abort();
      break;
    case 1:
      if (w.opener.open(Channel::kStream, kTo, body, kNow, out) == EnvelopeDrop::kNone) std::abort();
      break;
    case 2:  // an authenticated peer sending garbage: through the envelope into the node
      if (w.opener.open(Channel::kDatagram, kTo, w.sealer.seal(Channel::kDatagram, kTo, body, kNow), kNow, out) ==
          EnvelopeDrop::kNone) {
        w.node.on_packet(Address{0x0a000002, 7946}, as_bytes(out));
      }
      break;
    case 3:
      w.db.notify_user_msg("peer", bytes);
      break;
    case 4:
      (void)w.db.handle_user_request("peer", bytes);
      break;
    case 5:
      w.db.merge_remote_state(bytes, body.size() % 2 == 0);
      break;
    case 6:
      (void)w.node.on_stream_request(Address{0x0a000002, 7946}, bytes);
      break;
    case 7:
      (void)EndpointRecord::decode(body);
      break;
    case 8:
      (void)Keyring::parse(body);
      break;
  }
  w.clock.advance(std::chrono::milliseconds(10));
  if (w.clock.now() >= w.node.next_deadline()) w.node.tick();
  return 0;
}
