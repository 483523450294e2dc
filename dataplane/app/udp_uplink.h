// The kernel-UDP uplink: VXLAN payloads sent and received through kernel
// UDP sockets on the VTEP address, for hosts without a DPDK-bound NIC (cloud
// VMs, veth test beds). The kernel owns the address: it routes, resolves
// next hops (ARP/ND) and shares the interface with everything else (gossip).
//
// Sockets:
// - `send_sockets` send sockets bound to VTEP:src_port_base+i. One bound socket
//   has one source port, so the outer source port (RFC 7348 §5 entropy) the
//   pipeline derived from the inner flow hash picks the socket: socket
//   (port % send_sockets). A flow always leaves through the same socket, in
//   order. Shared by all TX queues (the kernel serialises per socket).
// - one receive socket per queue on VTEP:udp_port (an SO_REUSEPORT group
//   when there are several: the kernel spreads peers' flows over them by
//   their 4-tuple), with UDP_GRO, SO_RXQ_OVFL, SO_RCVBUFFORCE.
//
// TX (tx_burst): frames arrive as the pipeline builds them (outer Ethernet +
// IPv4/IPv6 + UDP + VXLAN + inner); the outer 42 (62) bytes are skipped and
// the VXLAN payload goes to the outer destination address and port with
// sendmmsg, gathered from the mbuf chain (no copy). A VXLAN TCP super-frame
// (the port takes them whole, UdpUplinkPort::tx_caps) is cut here
// (SegmentGather): each datagram is gathered from its headers, written into
// a small per-queue header area, and slices of the super-frame's payload,
// which is read once, for the segments' checksums, and copied only by the
// kernel; the datagrams are byte for byte what Segmenter would make.
// Consecutive datagrams of
// one size (a shorter last one allowed) to one destination from one socket
// leave as ONE message with UDP_SEGMENT, within 65 507 bytes and 64
// segments (udp_wire::GsoGroup). IP_PMTUDISC_DO: nothing is fragmented; a
// datagram the MTU does not allow is dropped and counted. Non-blocking: a
// full socket buffer (EAGAIN) drops the message, counted. Every frame is
// consumed (sent, or freed and counted); tx_burst returns n.
//
// RX (rx_burst): recvmmsg into 64 KiB buffers; each buffer is one datagram,
// a UDP_GRO batch (split at the cmsg's gso_size: one batch can mix inner
// flows behind one outer source port) or a Linux peer's tunnel GSO packet
// carrying an inner super-frame (delivered whole, with TSO metadata). A
// burst ends at a buffer's last datagram when one lies within it, so the
// datagrams of a UDP_GRO batch reach the pipeline together (and coalesce
// into one super-frame). How the datagrams are handed over is `delivery`:
// - kPayload: one mbuf per datagram, attached (extbuf, no copy) to the
//   receive buffer, data = VXLAN header + inner frame; the outer source
//   address and port in the mbuf's OuterSource dynfield (outer_source());
//   inner offload metadata (partial checksum, TCP_SEG/UDP_SEG + tso_segsz)
//   with l2/l3/l4 offsets relative to the INNER frame, i.e. valid once the
//   8-byte VXLAN header is stripped. The mbuf has no headroom (a prepend
//   fails; nothing may write before the data). A payload-level decap entry
//   point in the pipeline consumes these.
// - kFrame: one pool mbuf per datagram with the outer Ethernet/IP/UDP header
//   today's Pipeline::process_uplink expects written in front (a copy):
//   inner super-frames are cut into segments here (udp_wire::write_segment)
//   and partial inner checksums completed, since today's pipeline and
//   endpoint ports carry neither.
//
// Threads: queue q's rx_burst/tx_burst are called by one thread (the worker
// owning queue q); stats() by any thread. No locks, no allocation on the
// packet path; the only system calls are recvmmsg/sendmmsg.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "dataplane/core/counter_list.h"
#include "dataplane/core/types.h"

struct rte_mbuf;
struct rte_mempool;

namespace ferry::dataplane::app {

// X(kind, name, help): kind Count (happened) or Drop (a datagram/frame freed,
// exactly one Drop counter each).
#define FERRY_UDP_UPLINK_COUNTERS(X)                                                                               \
  X(Count, rx_datagrams, "VXLAN datagrams received (GRO batches split)")                                           \
  X(Count, rx_bytes, "UDP payload bytes received")                                                                 \
  X(Count, rx_gro_batches, "receive buffers holding several datagrams (UDP_GRO)")                                  \
  X(Count, rx_superframes, "datagrams carrying a peer's inner super-frame (tunnel GSO that crossed a veth whole)") \
  X(Count, rx_partial_csum, "inner frames received with a partial (pseudo-header only) L4 checksum")               \
  X(Count, rx_segments, "frame mode: inner segments cut from super-frames")                                        \
  X(Count, rx_csum_completed, "frame mode: partial inner L4 checksums completed in software")                      \
  X(Count, tx_datagrams, "VXLAN datagrams sent")                                                                   \
  X(Count, tx_bytes, "UDP payload bytes sent")                                                                     \
  X(Count, tx_messages, "messages sent (one datagram, or a UDP_SEGMENT batch)")                                    \
  X(Count, tx_gso_messages, "messages sent with UDP_SEGMENT (two datagrams or more)")                              \
  X(Count, tx_syscalls, "sendmmsg calls")                                                                          \
  X(Count, tx_sw_csum, "partial inner L4 checksums completed in software before sending")                          \
  X(Count, tx_superframes, "VXLAN TCP super-frames cut into datagrams here (payload gathered, not copied)")        \
  X(Count, tx_segments, "datagrams cut from super-frames")                                                         \
  X(Count, tx_sw_csum_bytes, "bytes summed to make the checksums of the segments cut from super-frames")           \
  X(Drop, rx_missed, "datagrams the kernel dropped at a receive socket (full buffer; SO_RXQ_OVFL / sk_drops)")     \
  X(Drop, rx_truncated, "datagrams larger than a receive buffer (never delivered cut)")                            \
  X(Drop, rx_runt, "datagrams shorter than a VXLAN header and an inner Ethernet header")                           \
  X(Drop, rx_no_mbuf, "datagrams dropped: mbuf pool empty, or more than a burst can hold")                         \
  X(Drop, rx_too_big, "frame mode: inner frame larger than one mbuf that cannot be segmented")                     \
  X(Drop, tx_not_vxlan, "frames that are not Ethernet/IPv4|IPv6/UDP as the pipeline builds them (ARP, tags)")      \
  X(Drop, tx_gso_unsupported, "frames asking for segmentation this port does not do (UDP, or TCP without VXLAN)")  \
  X(Drop, tx_bad_superframe, "super-frames whose offload metadata disagree with their bytes (as gso_* drops)")     \
  X(Drop, tx_too_big, "datagrams larger than the underlay MTU allows (never fragmented)")                          \
  X(Drop, tx_eagain, "datagrams dropped on a full socket send buffer (EAGAIN)")                                    \
  X(Drop, tx_error, "datagrams dropped on another send error")

enum class UdpCounter : std::uint8_t { FERRY_UDP_UPLINK_COUNTERS(FERRY_COUNTER_ENUM) };
inline constexpr auto kUdpCounterInfo = std::to_array<CounterInfo>({FERRY_UDP_UPLINK_COUNTERS(FERRY_COUNTER_INFO)});
inline constexpr std::size_t kUdpCounterCount = kUdpCounterInfo.size();
using UdpCounterBlock = CounterBlock<UdpCounter, kUdpCounterCount>;

struct UdpUplinkStats {
  UdpCounterBlock::Values counters{};
  [[nodiscard]] std::uint64_t operator[](UdpCounter c) const { return counters[static_cast<std::size_t>(c)]; }
  // Sum of the TX Drop counters (a port's tx_errors).
  [[nodiscard]] std::uint64_t tx_drops() const;
};

// How received datagrams are handed to the pipeline (see the top).
enum class UdpDelivery : std::uint8_t { kPayload, kFrame };

struct UdpUplinkConfig {
  IpAddress local;                         // the VTEP address (IPv4 or IPv6); the kernel must hold it
  std::uint16_t udp_port = 4789;           // VXLAN port we receive on
  std::uint16_t src_port_base = 49152;     // send socket i is bound to src_port_base + i; 0: the kernel picks
  std::uint16_t send_sockets = 16;         // 1..64: outer source ports (flow entropy)
  std::uint16_t queues = 1;                // RX/TX queue pairs (one per worker); one receive socket each
  std::uint32_t mtu = 1500;                // underlay IP MTU (576..9216)
  std::uint32_t rcvbuf_bytes = 16u << 20;  // SO_RCVBUFFORCE per receive socket (SO_RCVBUF without CAP_NET_ADMIN)
  std::uint32_t sndbuf_bytes = 4u << 20;   // SO_SNDBUFFORCE per send socket
  std::uint32_t rx_buffers = 32;           // 64 KiB receive buffers per queue (>= rx_batch)
  std::uint16_t rx_batch = 8;              // recvmmsg messages per call (1..16)
  bool gso = true;                         // UDP_SEGMENT on send (needs TX checksum offload on the route's device)
  bool gro = true;                         // UDP_GRO on receive
  UdpDelivery delivery = UdpDelivery::kFrame;
  std::array<std::uint8_t, 6> frame_mac{};  // kFrame: outer destination MAC written (the pipeline's uplink MAC)
  PortId port_id = 0;                       // written to mbuf->port

  [[nodiscard]] Result<void> validate() const;
};

// The outer source of a received datagram (kPayload), in an mbuf dynfield.
struct OuterSource {
  std::array<std::uint8_t, 16> addr{};  // IPv4: the first 4 bytes, wire order
  std::uint16_t port = 0;               // host order
  Family family = Family::kIPv4;
  std::uint8_t tos = 0;  // outer IPv4 TOS / IPv6 traffic class (DSCP + ECN), IP_RECVTOS
};

class UdpUplink {
 public:
  // Opens and binds every socket. `pool`: mbufs for received frames (kFrame)
  // or headers attached to receive buffers (kPayload; data room unused).
  static Result<std::unique_ptr<UdpUplink>> open(const UdpUplinkConfig& config, rte_mempool* pool);
  ~UdpUplink();
  UdpUplink(const UdpUplink&) = delete;
  UdpUplink& operator=(const UdpUplink&) = delete;

  // Up to n frames (VXLAN payloads or whole frames, see `delivery`).
  std::uint16_t rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);
  // Sends or drops (counted) every frame; returns n.
  std::uint16_t tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);

  // Summed over queues; rx_missed read from the sockets now (SO_MEMINFO).
  [[nodiscard]] UdpUplinkStats stats() const;
  [[nodiscard]] const UdpUplinkConfig& config() const { return config_; }
  // The receive socket of a queue (for epoll), the bound send ports.
  [[nodiscard]] int rx_fd(std::uint16_t queue) const;
  [[nodiscard]] std::vector<std::uint16_t> send_ports() const;
  // False once a UDP_SEGMENT send failed with EIO (the route's device has no
  // TX checksum offload): datagrams then leave one per message.
  [[nodiscard]] bool gso_active() const { return gso_active_.load(std::memory_order_relaxed); }

  // The receive side's mbuf dynfield offset (kPayload), -1 before any open.
  static int outer_source_offset();

 private:
  struct Queue;
  struct RxBuffer;
  explicit UdpUplink(const UdpUplinkConfig& config, rte_mempool* pool);
  static void free_rx_buffer(void* addr, void* opaque);
  static void free_rx_slot(void* addr, void* opaque);
  Result<void> open_sockets();
  std::uint32_t receive(Queue& q);
  static constexpr std::uint32_t kNotSlotted = ~0u;
  std::uint32_t deliver(Queue& q, RxBuffer* buf, std::uint8_t* data, std::uint32_t size, std::uint32_t gro_size,
                        const OuterSource& src);
  std::uint32_t deliver_slots(Queue& q, RxBuffer* buf, std::uint32_t size, std::uint32_t gro_size,
                              const OuterSource& src);
  std::uint8_t* linearize(Queue& q, const RxBuffer* buf, std::uint32_t size);
  void deliver_payload(Queue& q, RxBuffer* buf, std::uint8_t* data, std::uint32_t size, std::uint32_t udp_gso,
                       const OuterSource& src, std::uint32_t& made);
  void deliver_frame(Queue& q, const std::uint8_t* data, std::uint32_t size, std::uint32_t udp_gso,
                     const OuterSource& src);
  void stage_frame(Queue& q, rte_mbuf* m);
  void stage_superframe(Queue& q, rte_mbuf* m);
  void send_round(Queue& q);
  void send_socket_messages(Queue& q, std::uint32_t sock, std::uint32_t first, std::uint32_t count);

  UdpUplinkConfig config_;
  rte_mempool* pool_;
  std::vector<int> send_fds_;
  std::vector<std::uint16_t> send_ports_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::atomic<bool> gso_active_{true};
  std::uint32_t max_datagram_ = 0;
  std::uint32_t inner_mtu_ = 0;
  // Receive buffer layout. kPayload: one 64 KiB area per buffer (slots 0).
  // kFrame: `slots` slots of `slot_stride` bytes, each kSlotHeadroom bytes
  // of room for an outer header and then `slot_payload` bytes (the largest
  // datagram the MTU allows) the kernel fills in order (recvmmsg iovecs).
  struct RxLayout {
    std::uint32_t slots = 0;
    std::uint32_t slot_payload = 0;
    std::uint32_t slot_stride = 0;
    std::uint32_t buffer_stride = 65536;
  };
  RxLayout rx_;
};

// The outer source of a datagram delivered in kPayload mode.
const OuterSource& outer_source(const rte_mbuf* m);

}  // namespace ferry::dataplane::app
