// The tap uplink (`--uplink-mode tap`, Linux >= 6.17): the kernel-UDP uplink
// (udp_uplink_port.h) plus a fast path that hands whole VXLAN super-frames
// to and from the kernel through a tap with the 24-byte tunnel virtio-net
// header (tunnel_hdr.h), so neither side segments, checksums or coalesces
// what a TCP sender's kernel made as one 64 KB frame.
//
// Kernel side (tap_host.h): a tap "ftap<uplink ifindex>" (one queue per worker),
// a tc redirect of VXLAN for our VTEP address from the uplink's ingress to
// the tap, and one from the tap's ingress to the uplink's egress.
//
// Receive: each worker reads its tap queue (one read per frame: a 24-byte
// header, the frame into a head mbuf and, when larger, a 64 KiB buffer),
// turns the tunnel header into the inner frame's offload metadata
// (tunnel GSO -> TX_TCP_SEG + tso_segsz; l2/l3/l4 offsets of the INNER frame,
// valid once decapsulation strips the outer 50 bytes) and hands the whole
// frame to the pipeline, which decapsulates it as any other. Then the UDP
// sockets, with UDP_GRO (what the filter does not take: frames that are not
// TCP inside, IPv4 options, fragments). One epoll_wait per poll says which
// of the two has frames; only those are read.
//
// Send: an inner TCP frame whose outer destination has a valid next hop in the
// kernel's neighbour table (resolved on the control thread, published to the
// workers through a seqlocked table they never wait on) gets that MAC, the
// tunnel header and one write to the tap; everything else (no next hop yet,
// the route leaves by another interface, not IPv4) goes through the UDP
// sockets, which also makes the kernel resolve the next hop. So do frames
// that are not TCP inside: the sockets' sendmmsg batches move small frames
// faster than a write per frame, and a flow always takes one path. The MTU is
// checked per segment here (the kernel would report an oversize segment to
// the local source only), and an outer IPv4 length above 65 535 is refused.
//
// Threads: rx/tx of queue q on q's worker; everything else on the control
// thread. No locks, no allocation on the packet path; the system calls are
// the tap's read/write and the UDP uplink's.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "dataplane/app/config.h"
#include "dataplane/app/port.h"
#include "dataplane/app/tap_host.h"
#include "dataplane/app/udp_uplink_port.h"
#include "dataplane/core/counter_list.h"

struct rte_mempool;

namespace ferry::dataplane::app {

class VnetBuffers;

// X(kind, name, help): kind Count or Drop (a frame freed, one Drop each).
#define FERRY_TAP_UPLINK_COUNTERS(X)                                                                              \
  X(Count, rx_frames, "frames read from the tap (VXLAN for our VTEP address the uplink's tc filter redirected)")  \
  X(Count, rx_bytes, "bytes read from the tap")                                                                   \
  X(Count, rx_superframes, "tunnel GSO super-frames read whole from the tap")                                     \
  X(Count, rx_csum_partial, "frames read with a partial inner L4 checksum")                                       \
  X(Count, rx_outer_csum_only, "frames whose only partial checksum was the outer UDP one (a kernel VTEP's)")      \
  X(Count, tx_frames, "frames written to the tap")                                                                \
  X(Count, tx_bytes, "bytes written to the tap")                                                                  \
  X(Count, tx_superframes, "tunnel GSO super-frames written whole to the tap")                                    \
  X(Count, tx_neigh_miss, "frames sent through the UDP sockets instead: no valid next hop for their VTEP yet")    \
  X(Count, tx_not_tap, "frames sent through the UDP sockets instead: not IPv4 VXLAN as the tap path takes it")    \
  X(Count, tx_not_tcp, "frames sent through the UDP sockets' batches by choice: the inner frame is not TCP")      \
  X(Drop, rx_missed, "frames the kernel dropped at the tap (its tx_dropped: the queue was full)")                 \
  X(Drop, rx_bad_header, "frames whose tunnel virtio-net header does not describe them")                          \
  X(Drop, rx_truncated, "frames larger than the receive buffers")                                                 \
  X(Drop, rx_error, "tap reads that failed (other than no frame waiting)")                                        \
  X(Drop, tx_too_big, "frames whose segments exceed the underlay MTU, or whose outer IPv4 length exceeds 65 535") \
  X(Drop, tx_bad_offload, "frames whose offload metadata do not describe them")                                   \
  X(Drop, tx_error, "tap writes that failed")

enum class TapCounter : std::uint8_t { FERRY_TAP_UPLINK_COUNTERS(FERRY_COUNTER_ENUM) };
inline constexpr auto kTapCounterInfo = std::to_array<CounterInfo>({FERRY_TAP_UPLINK_COUNTERS(FERRY_COUNTER_INFO)});
inline constexpr std::size_t kTapCounterCount = kTapCounterInfo.size();
using TapCounterBlock = CounterBlock<TapCounter, kTapCounterCount>;

// Next hops the workers read: VTEP IPv4 address -> MAC. One writer (the
// control thread); readers never wait: a slot being rewritten reads as a
// miss (the frame takes the UDP path). At most kSlots VTEPs; beyond them,
// frames take the UDP path.
class NextHopTable {
 public:
  static constexpr std::uint32_t kSlots = 128;
  // Reader: the MAC (48 bits, first byte in the low byte) for `ip` (wire
  // order), or false.
  bool find(std::uint32_t ip, std::uint64_t& mac) const;
  // Writer.
  bool set(std::uint32_t ip, const std::array<std::uint8_t, 6>& mac);
  void invalidate(std::uint32_t ip);

 private:
  struct Slot {
    std::atomic<std::uint32_t> seq{0};
    std::atomic<std::uint32_t> ip{0};
    std::atomic<std::uint64_t> mac{0};  // bit 63: valid
  };
  static std::uint32_t home(std::uint32_t ip);
  Slot* slot_for(std::uint32_t ip, bool insert);
  std::array<Slot, kSlots> slots_{};
};

// Whether an inner Ethernet frame (`size` bytes) is TCP over IPv4 or IPv6
// (no extension headers): what the tap path sends.
bool inner_tcp(const std::uint8_t* frame, std::uint32_t size);

// Whether --uplink-mode tap can run here; the reason when not.
struct TapSupport {
  bool supported = false;
  std::string reason;
};
TapSupport tap_uplink_supported();

// What --uplink-mode auto runs as: kTap where `support` says the kernel has
// tunnel GSO on taps, kUdp otherwise (with a log line saying which and why).
// Any other mode is returned as it is.
UplinkMode resolve_uplink_mode(UplinkMode mode, const TapSupport& support);

class TapUplinkPort final : public Port {
 public:
  // Opens the UDP uplink (the fallback path), then the tap and the tc
  // redirects. An error whose sys_errno is EOPNOTSUPP: the kernel lacks tunnel
  // GSO on taps. `buffers`: receive buffers (shared with the vnet endpoint
  // ports: the same worker polls them one after the other); they must
  // outlive the workers' last call, not the port.
  static Result<std::unique_ptr<TapUplinkPort>> open(const Config& config, rte_mempool* pool, std::uint16_t queues,
                                                     std::uint32_t mtu, VnetBuffers& buffers);
  ~TapUplinkPort() override;
  TapUplinkPort(const TapUplinkPort&) = delete;
  TapUplinkPort& operator=(const TapUplinkPort&) = delete;

  [[nodiscard]] PortIo io() const override;
  [[nodiscard]] PortCounters counters() override;
  [[nodiscard]] bool link_up() const override { return udp_->link_up(); }
  [[nodiscard]] MacAddr mac() const override { return udp_->mac(); }
  [[nodiscard]] PortOffloads offloads() const override;
  // VXLAN TCP super-frames and partial inner checksums go in whole (the tap
  // takes them; the UDP path cuts and completes them).
  [[nodiscard]] PortTxCaps tx_caps() const override { return kTxCapTunnelTso | kTxCapTunnelL4Csum; }
  // Resolves the VTEPs the workers asked for, reads the tap's drops, and the
  // UDP uplink's poll().
  void poll() override;

  // Every tap counter ("tap_uplink_<counter>") and every UDP uplink counter.
  [[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> named_counters() const;
  [[nodiscard]] TapCounterBlock::Values tap_counters() const;
  [[nodiscard]] const std::string& tap_name() const { return tap_.name(); }

 private:
  struct Queue;
  TapUplinkPort(std::unique_ptr<UdpUplinkPort> udp, TapDevice tap, std::uint32_t mtu, VnetBuffers& buffers);
  static std::uint16_t rx(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);
  static std::uint16_t tx(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);
  std::uint16_t read_tap(Queue& q, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);
  // True when `m` was written to the tap (or dropped); false: the UDP path's.
  bool write_tap(Queue& q, rte_mbuf* m);
  void resolve();

  std::unique_ptr<UdpUplinkPort> udp_;
  TapDevice tap_;
  TapRedirect redirect_;
  VnetBuffers* buffers_;
  std::vector<std::unique_ptr<Queue>> queues_;
  NextHopTable next_hops_;
  std::vector<std::uint32_t> vteps_;  // control thread: what next_hops_ resolves
  std::uint32_t mtu_;
  int uplink_ifindex_ = 0;
  std::uint64_t tap_drops_base_ = 0;
  std::atomic<std::uint64_t> tap_drops_{0};
};

}  // namespace ferry::dataplane::app
