// libFuzzer target: the membership decoder and every handler behind it.
// Input: byte 0 picks the entry point (datagram, stream request, stream
// response, or a sequence of datagrams with ticks between); the rest is the
// wire bytes. Invariants checked: no crash (ASan/UBSan), the local node stays
// alive in its own view, counts stay consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

#include "control/gossip/node.h"

namespace {

using namespace ferry::gossip;
using namespace std::chrono_literals;

class NullTransport final : public Transport {
 public:
  [[nodiscard]] Address local_address() const override { return Address{0x0a000001, 7946}; }
  void send_packet(const Address&, std::string data) override {
    if (data.size() > Config{}.max_packet_size) std::abort();
  }
  void request(const Address&, uint64_t id, std::string) override { last_request = id; }
  uint64_t last_request = 0;
};

class EchoDelegate final : public Delegate {
 public:
  void notify_user_msg(std::string_view, Bytes payload) override { bytes += payload.size(); }
  void get_broadcasts(size_t overhead, size_t budget, std::vector<std::string>& out) override {
    if (budget > overhead + 8) out.emplace_back("fuzzing");
  }
  size_t bytes = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);  // the node's membership lines, one per input
    return true;
  }();
  (void)quiet;
  if (size < 1) return 0;
  ManualClock clock;
  NullTransport transport;
  EchoDelegate delegate;
  Node node(Config{}, "node-0", clock, transport, 1, &delegate, nullptr, 99);
  node.start();
  // A few members so suspect/dead/indirect paths have something to act on.
  for (uint32_t i = 1; i <= 4; ++i) {
    node.insert_member_quietly("node-" + std::to_string(i), Address{0x0a000001 + i, 7946}, 1, i);
  }
  const Address from{0x0a000002, 7946};
  const uint8_t mode = data[0] % 4;
  const Bytes body(data + 1, size - 1);
  switch (mode) {
    case 0:
      node.on_packet(from, body);
      break;
    case 1:
      (void)node.on_stream_request(from, body);
      break;
    case 2: {
      node.join({from});
      node.on_stream_response(transport.last_request, std::string(body.begin(), body.end()));
      break;
    }
    case 3: {
      // Chunks separated by 0xff 0x00: datagrams with clock ticks between.
      size_t start = 0;
      for (size_t i = 0; i + 1 < body.size(); ++i) {
        if (body[i] == 0xff && body[i + 1] == 0x00) {
          node.on_packet(from, body.subspan(start, i - start));
          clock.advance(150ms);
          node.tick();
          start = i + 2;
        }
      }
      node.on_packet(from, body.subspan(start));
      clock.advance(10s);
      node.tick();
      break;
    }
  }
  const auto self = node.member("node-0");
  if (!self || self->state != MemberState::kAlive) std::abort();
  if (node.num_alive() > node.num_members()) std::abort();
  return 0;
}
