// The vnet endpoint port: the host end of a container's veth through AF_PACKET
// sockets with PACKET_VNET_HDR, so GSO super-frames (up to 64 KB) and partial
// checksums cross it whole, with their virtio-net headers turned into mbuf
// offload metadata (vnet_hdr.h). Polled by the workers like any other port.
//
// One non-blocking socket per queue (worker); with several queues they form
// a PACKET_FANOUT_HASH group, so a flow stays on one worker. recvmmsg and
// sendmmsg move a burst per system call (no TPACKET_V3 ring: its block
// retire timeout, >= 1 ms, would hold frames back, and a TX ring of 64 KB
// slots would cost ~17 MiB per endpoint). Each socket sets
// PACKET_IGNORE_OUTGOING (it never reads what it or the host sends), joins
// PACKET_MR_PROMISC (a membership that ends with the socket, unlike
// IFF_PROMISC), reads VLAN tags from PACKET_AUXDATA (the kernel strips
// them), and gets receive and send buffers of VnetConfig's sizes. The kernel's
// drops on a full socket (PACKET_STATISTICS) go to rx_missed.
//
// Receive buffers (VnetBuffers): a frame lands in a head mbuf of the packet
// pool (its headers and the first data room's worth) and, when larger, in a
// second mbuf of up to 64 KB from a pool of large buffers: a two-segment
// chain, headers contiguous in the first. Each worker keeps one burst of
// posted buffers (a head and a large one per message) shared by every vnet
// port it polls, so memory does not grow with endpoints (docs/dataplane.md,
// "Memory per vnet endpoint").
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "dataplane/app/port.h"
#include "dataplane/app/vnet_hdr.h"

struct rte_mbuf;
struct rte_mempool;

namespace ferry::dataplane::app {

struct VnetConfig {
  std::uint16_t queues = 1;  // sockets (one per worker)
  // Kernel socket buffers per socket (SO_RCVBUFFORCE / SO_SNDBUFFORCE; the
  // kernel doubles them for its bookkeeping). A 64 KB super-frame takes
  // about 66 KB of buffer: 4 MiB hold ~60 of them, two bursts.
  std::uint32_t rcvbuf_bytes = 4U << 20;
  std::uint32_t sndbuf_bytes = 4U << 20;
  // The largest MTU the interface may have (the underlay's): as for every
  // endpoint port.
  std::uint32_t max_mtu = 1500;

  [[nodiscard]] Result<void> validate() const;
};

// Data room of the large receive buffers: a frame's tail beyond the head
// mbuf (buf_len is 16-bit).
inline constexpr std::uint16_t kVnetLargeBufSize = 65535;

// Segments one frame to send may have (a flood copy of a 64 KB frame into
// 2 KiB mbufs takes 33; a coalesced super-frame at most kCoalesceMaxChain).
inline constexpr std::uint16_t kVnetMaxTxSegments = 64;

// The receive buffers every vnet port of this process shares: a pool of
// large mbufs and, per queue (worker), the burst of buffers posted to the
// next recvmmsg. Create on the control thread, before any vnet port.
class VnetBuffers {
 public:
  // `heads`: the packet pool (head mbufs: headers and the first bytes);
  // `queues`: workers. Creates the large pool: 2 bursts per worker plus slack.
  static Result<std::unique_ptr<VnetBuffers>> create(rte_mempool* heads, std::uint16_t queues);
  ~VnetBuffers();
  VnetBuffers(const VnetBuffers&) = delete;
  VnetBuffers& operator=(const VnetBuffers&) = delete;

  // The buffers of one queue for its next recvmmsg: message i gets head[i]
  // and large[i]. Used by that queue's worker only.
  struct alignas(64) Posted {
    rte_mbuf* head[kBurstSize] = {};
    rte_mbuf* large[kBurstSize] = {};
    std::uint16_t heads = 0;   // head[0..heads) are posted
    std::uint16_t larges = 0;  // large[0..larges) are posted

    // Closes the gaps vnet_take_frame() left.
    void compact();
    // Gives every posted buffer back to its pool.
    void release();
  };
  // Tops both stacks up to n (as far as the pools allow); returns how many
  // messages can be posted (both buffers).
  std::uint16_t refill(std::uint16_t queue, std::uint16_t n);
  [[nodiscard]] Posted& posted(std::uint16_t queue) { return posted_[queue]; }

  [[nodiscard]] std::uint16_t head_room() const { return head_room_; }
  [[nodiscard]] std::uint32_t large_count() const { return large_count_; }
  [[nodiscard]] std::uint64_t memory_bytes() const;
  [[nodiscard]] rte_mempool* large_pool() const { return large_; }

 private:
  VnetBuffers() = default;

  rte_mempool* heads_ = nullptr;
  rte_mempool* large_ = nullptr;
  std::uint16_t queues_ = 0;
  std::uint16_t head_room_ = 0;  // bytes a head mbuf takes after its headroom
  std::uint32_t large_count_ = 0;
  std::unique_ptr<Posted[]> posted_;
};

// Makes the frame received into the buffers of `slot` (`size` bytes) an mbuf:
// the head alone when it fits, else the head chained to the large buffer.
// Takes what it uses out of the slot (sets it null). Exposed for tests.
rte_mbuf* vnet_take_frame(VnetBuffers::Posted& posted, std::uint16_t slot, std::uint32_t size, std::uint16_t head_room);

class VnetPort final : public Port {
 public:
  // Opens the sockets on `iface` (in this network namespace) and starts
  // receiving. Turns TX checksum, scatter-gather and TSO back on on `iface`
  // when they are off (so what Ferry sends stays whole).
  static Result<std::unique_ptr<VnetPort>> open(const std::string& iface, VnetBuffers& buffers,
                                                const VnetConfig& config);
  ~VnetPort() override;
  VnetPort(const VnetPort&) = delete;
  VnetPort& operator=(const VnetPort&) = delete;

  [[nodiscard]] PortIo io() const override;
  [[nodiscard]] PortCounters counters() override;
  [[nodiscard]] bool link_up() const override;
  [[nodiscard]] MacAddr mac() const override { return mac_; }
  [[nodiscard]] PortOffloads offloads() const override;
  // TCP and UDP super-frames and partial checksums go out whole, as
  // virtio-net headers.
  [[nodiscard]] PortTxCaps tx_caps() const override { return kTxCapTso | kTxCapUso | kTxCapL4Csum; }
  [[nodiscard]] std::vector<NamedCounter> type_counters() const override;
  void poll() override;

  // Per-port counters beyond PortCounters, summed over queues (control thread).
  struct Extra {
    VnetDropBlock::Values drops{};
    std::uint64_t rx_super_frames = 0;  // GSO frames received (TX_TCP_SEG / TX_UDP_SEG)
    std::uint64_t tx_super_frames = 0;  // GSO frames sent
    std::uint64_t rx_csum_partial = 0;  // frames received with NEEDS_CSUM
    std::uint64_t tx_full = 0;          // frames a full socket did not take (left to the caller)
  };
  [[nodiscard]] Extra extra() const;
  // type_counters() of a port that counted nothing: every name the vnet type has.
  [[nodiscard]] static std::vector<NamedCounter> counter_template();

 private:
  struct Queue;
  VnetPort(std::string iface, VnetBuffers& buffers);
  static std::uint16_t rx_burst(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);
  static std::uint16_t tx_burst(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);
  void read_kernel_drops();

  std::string iface_;
  int ifindex_ = 0;
  MacAddr mac_;
  VnetBuffers& buffers_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::uint64_t kernel_drops_ = 0;  // PACKET_STATISTICS tp_drops, summed (they reset on read)
};

}  // namespace ferry::dataplane::app
