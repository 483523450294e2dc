// libFuzzer target: arbitrary frames into both ingress paths of a pipeline
// programmed like host A (plus a second port and flooding), checking that
// nothing crashes, nothing leaks and every frame is accounted for.
//
//   CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined
//   ninja -C build-fuzz tests/dataplane/core/fuzz_pipeline
//   build-fuzz/tests/dataplane/core/fuzz_pipeline -max_total_time=60 -max_len=2048
//
// Input: byte 0 selects the path (bit 0: uplink/endpoint), the burst size
// (bits 1-2: 1..4 copies) and whether a valid prefix is put in front (bit 3:
// a well-formed outer VXLAN header for the uplink, a well-formed Ethernet
// header from the endpoint's own MAC otherwise) so the fuzzer gets past the
// first checks quickly. For the endpoint path, bit 4 picks port 2 instead of
// port 1, bit 5 puts an Ethernet + IPv6 header (ICMPv6, hop limit 255, the
// port's own address or, with bit 7, ::) in front instead, its payload length
// matching, and bit 6 then fills in a correct ICMPv6 checksum, so Neighbor
// Discovery parsing and the ND proxy are reachable.
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdio>
#include <cstdlib>

#include "tests/dataplane/core/harness.h"

using namespace ferry::dataplane;
using namespace ferry::dataplane::test;

namespace {

Harness& harness() {
  static Harness* h = [] {
    auto* harness = new Harness(Harness::default_config(), 1024);
    harness->program_host_a();
    (void)harness->tables().add_port(
        EndpointPort{2, kVni, MacAddr{{0x02, 0, 0, 0, 0, 2}}, {Ipv4Addr{0x0a010003}}, {ipv6_addr("fd00:4242::3")}});
    (void)harness->tables().add_network(kVni, true);
    return harness;
  }();
  return *h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 9000) return 0;
  Harness& h = harness();
  const std::uint8_t selector = data[0];
  const bool uplink = (selector & 1) != 0;
  const int copies = 1 + ((selector >> 1) & 3);
  Bytes frame;
  const bool port2 = (selector & 16) != 0;
  if (!uplink && (selector & 32)) {
    const MacAddr src_mac = port2 ? MacAddr{{0x02, 0, 0, 0, 0, 2}} : kLocalMac;
    const Ipv6Addr src = (selector & 128) ? Ipv6Addr{} : port2 ? ipv6_addr("fd00:4242::3") : kLocalIp6;
    Bytes ip = ipv6(src, solicited_node(kRemoteIp6), 58, Bytes(data + 1, data + size), 255);
    if ((selector & 64) && ip.size() >= 44) fix_icmpv6_checksum(ip.data(), ip.size());
    frame = ether(ipv6_multicast_mac(solicited_node(kRemoteIp6)), src_mac, 0x86dd, ip);
  } else if (selector & 8) {
    if (uplink) {
      const Bytes outer = vxlan(Bytes(14, 0), kVni);
      frame.assign(outer.begin(), outer.begin() + 50);
    } else {
      frame = ether(kRemoteMac, kLocalMac, 0x0800, {});
      frame.resize(12);
    }
  }
  if (uplink || !(selector & 32)) frame.insert(frame.end(), data + 1, data + size);
  const std::vector<Bytes> burst(static_cast<std::size_t>(copies), frame);
  const Stats before = h.stats();
  if (uplink) {
    h.from_uplink(burst);
  } else {
    h.from_endpoint(port2 ? PortId{2} : kLocalPort, burst);
  }
  rte_mbuf* slow[8];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(h.pipeline().slow_path_rx(), reinterpret_cast<void**>(slow), 8, nullptr)) > 0) {
    rte_pktmbuf_free_bulk(slow, n);
  }
  if (h.mbufs_in_use() != 0) {
    std::fprintf(stderr, "mbuf leak: %u in use\n", h.mbufs_in_use());
    std::abort();
  }
  const Stats after = h.stats();
  const std::uint64_t rx = (after[Counter::rx_uplink] + after[Counter::rx_endpoint]) -
                           (before[Counter::rx_uplink] + before[Counter::rx_endpoint]);
  if (rx != static_cast<std::uint64_t>(copies)) {
    std::fprintf(stderr, "rx counted %llu of %d frames\n", static_cast<unsigned long long>(rx), copies);
    std::abort();
  }
  return 0;
}
