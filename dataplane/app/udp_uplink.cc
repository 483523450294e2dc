#include "dataplane/app/udp_uplink.h"

#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

#include "common/log.h"
#include "dataplane/app/udp_wire.h"
#include "dataplane/core/segment.h"

#ifndef UDP_NO_CHECK6_RX
#define UDP_NO_CHECK6_RX 102
#endif

namespace ferry::dataplane::app {
namespace {

namespace wire = udp_wire;

constexpr std::uint32_t kRxBufferSize = 65535;  // mbuf buf_len is 16 bits; the largest datagram or GRO batch
constexpr std::uint32_t kRxBufferStride = 65536;
// Frame mode receives into slots (see UdpUplink::RxLayout): each datagram of
// the underlay MTU's full size lands in a slot of its own, after room for
// the outer header written in front of it.
constexpr std::uint32_t kSlotHeadroom = 128;
constexpr std::uint32_t kMaxSlots = (kRxBufferSize + 548 - 1) / 548;  // 548: the datagram at MTU 576
constexpr std::uint16_t kMaxRxBatch = 16;
constexpr std::uint32_t kPendingCapacity = 1024;
constexpr std::uint16_t kMaxQueues = 16;
constexpr std::uint16_t kMaxSendSockets = 64;
constexpr std::uint32_t kTxItems = 512;         // datagrams sent per round of tx_burst
constexpr std::uint32_t kTxIov = kTxItems * 4;  // iovecs per round
constexpr std::uint32_t kMaxSegsPerFrame = 16;  // iovecs one frame (not a super-frame) may use
// Header room per segment cut here: the outer and inner headers (IPv6 + TCP
// options + a VLAN tag fit: 62 + 8 + 18 + 40 + 60 = 188).
constexpr std::uint32_t kTxHeaderStride = 192;
constexpr std::uint32_t kRxCmsgSize =
    CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(std::uint32_t)) + CMSG_SPACE(sizeof(int)) + 16;
constexpr std::uint32_t kTxCmsgSize = CMSG_SPACE(sizeof(std::uint16_t)) + CMSG_SPACE(sizeof(int));

int g_outer_offset = -1;

std::size_t index(UdpCounter c) { return static_cast<std::size_t>(c); }

int set_int(int fd, int level, int name, int value) { return setsockopt(fd, level, name, &value, sizeof value); }

// sockaddr for `addr`:`port`; returns its length.
socklen_t make_sockaddr(const IpAddress& addr, std::uint16_t port, sockaddr_in6& out) {
  std::memset(&out, 0, sizeof out);
  if (addr.family == Family::kIPv4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, addr.bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  out.sin6_family = AF_INET6;
  out.sin6_port = htons(port);
  std::memcpy(&out.sin6_addr, addr.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

// Makes a partial inner L4 checksum (TX_TCP_CKSUM / TX_UDP_CKSUM) complete.
// Headers through L4 are in the first segment (SUPERFRAMES.md). False when
// the metadata does not describe the frame.
bool complete_tx_checksum(rte_mbuf* m) {
  const std::uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
  const bool tcp = l4 == RTE_MBUF_F_TX_TCP_CKSUM;
  if (!tcp && l4 != RTE_MBUF_F_TX_UDP_CKSUM) return false;
  std::uint32_t l3_off = m->l2_len;
  if ((m->ol_flags & RTE_MBUF_F_TX_TUNNEL_MASK) != 0) l3_off += m->outer_l2_len + m->outer_l3_len;
  const std::uint32_t l4_off = l3_off + m->l3_len;
  if (rte_pktmbuf_data_len(m) < l4_off + (tcp ? 20u : 8u)) return false;
  auto* l3 = rte_pktmbuf_mtod_offset(m, const std::uint8_t*, l3_off);
  const bool v4 = (m->ol_flags & RTE_MBUF_F_TX_IPV4) != 0;
  const std::uint32_t l4_size = v4 ? static_cast<std::uint32_t>((l3[2] << 8) | l3[3]) - m->l3_len
                                   : static_cast<std::uint32_t>((l3[4] << 8) | l3[5]) + 40 - m->l3_len;
  if (l4_off + l4_size > rte_pktmbuf_pkt_len(m)) return false;
  std::uint16_t sum = 0;
  if (rte_raw_cksum_mbuf(m, l4_off, l4_size, &sum) != 0) return false;
  std::uint16_t check = static_cast<std::uint16_t>(~sum);
  if (check == 0 && !tcp) check = 0xffff;
  std::memcpy(rte_pktmbuf_mtod_offset(m, std::uint8_t*, l4_off + (tcp ? 16 : 6)), &check, 2);
  m->ol_flags &= ~RTE_MBUF_F_TX_L4_MASK;
  return true;
}

}  // namespace

// A receive buffer; datagram mbufs attach to it: to the whole buffer
// (kPayload, one reference count for all), or each to its own slot (kFrame,
// a reference count per slot, so a frame that is the only user of its slot
// is writable, as coalescing needs; `slots_held` counts the slots in use).
struct UdpUplink::RxBuffer {
  struct Slot {
    rte_mbuf_ext_shared_info shinfo{};
    RxBuffer* buffer = nullptr;
  };
  rte_mbuf_ext_shared_info shinfo{};
  std::uint8_t* data = nullptr;
  Queue* home = nullptr;
  std::vector<Slot> slots;
  std::atomic<std::uint32_t> slots_held{0};
};

struct alignas(64) UdpUplink::Queue {
  int rx_fd = -1;
  std::uint8_t* region = nullptr;  // rx_buffers * 64 KiB, mmap'ed
  std::size_t region_size = 0;
  std::vector<RxBuffer> buffers;
  // Free buffers. The queue's own thread keeps the ones it frees on a stack
  // and reuses the most recent first (still in cache: the kernel's copy into
  // a cold 64 KiB buffer costs more than everything else per datagram);
  // other threads return theirs through the ring (MP enqueue, SC dequeue).
  rte_ring* free_buffers = nullptr;
  std::vector<RxBuffer*> hot;
  std::uint32_t hot_count = 0;
  unsigned owner_lcore = LCORE_ID_ANY;  // the thread calling rx_burst, once known

  // recvmmsg
  std::array<mmsghdr, kMaxRxBatch> rx_msgs{};
  std::array<iovec, kMaxRxBatch * kMaxSlots> rx_iov{};
  std::vector<std::uint8_t> linear;  // kFrame: a datagram or batch that did not fit the slots, made contiguous
  std::array<sockaddr_in6, kMaxRxBatch> rx_names{};
  alignas(8) std::array<std::array<char, kRxCmsgSize>, kMaxRxBatch> rx_cmsg{};
  std::array<RxBuffer*, kMaxRxBatch> rx_bufs{};

  // Datagrams received and not yet handed out.
  std::array<rte_mbuf*, kPendingCapacity> pending{};
  std::array<bool, kPendingCapacity> batch_end{};  // the last datagram of a receive buffer
  std::uint32_t pending_head = 0;
  std::uint32_t pending_count = 0;
  std::uint32_t last_ovfl = 0;  // SO_RXQ_OVFL's last value (the socket's drop count)

  // sendmmsg: one round of datagrams (items), each with its iovecs in
  // stage_iov; the frames they come from, freed once the round is sent.
  struct Item {
    wire::Outer outer;
    std::uint32_t iov_first;
    std::uint16_t iov_count;
    std::uint16_t sock;
  };
  std::array<Item, kTxItems> items{};
  std::uint32_t item_count = 0;
  std::array<iovec, kTxIov> stage_iov{};
  std::uint32_t stage_count = 0;
  std::array<rte_mbuf*, kTxItems> round_frames{};
  std::uint32_t frame_count = 0;
  // Headers of the segments cut from super-frames this round (SegmentGather).
  alignas(64) std::array<std::uint8_t, kTxItems * kTxHeaderStride> seg_headers{};
  std::uint32_t header_count = 0;
  SegmentGather gather;

  std::array<std::uint16_t, kTxItems> order{};
  std::array<mmsghdr, kTxItems> tx_msgs{};
  std::array<sockaddr_in6, kTxItems> tx_names{};
  alignas(8) std::array<std::array<char, kTxCmsgSize>, kTxItems> tx_cmsg{};
  std::array<std::uint32_t, kTxItems> msg_datagrams{};
  std::array<std::uint32_t, kTxItems> msg_bytes{};
  std::array<bool, kTxItems> msg_gso{};
  std::array<iovec, kTxIov> tx_iov{};

  UdpCounterBlock counters;

  void count(UdpCounter c, std::uint64_t n = 1) { counters.count(c, n); }
  void give_back(RxBuffer* b) {
    if (owner_lcore != LCORE_ID_ANY && rte_lcore_id() == owner_lcore) {
      hot[hot_count++] = b;
    } else {
      rte_ring_mp_enqueue(free_buffers, b);  // room for every buffer: never full
    }
  }
  // Up to n free buffers, the most recently used first.
  unsigned take(RxBuffer** out, unsigned n) {
    unsigned got = 0;
    while (got < n && hot_count != 0) out[got++] = hot[--hot_count];
    if (got < n) got += rte_ring_sc_dequeue_burst(free_buffers, reinterpret_cast<void**>(out + got), n - got, nullptr);
    return got;
  }
  bool push(rte_mbuf* m) {
    if (pending_count == kPendingCapacity) return false;
    batch_end[pending_count] = false;
    pending[pending_count++] = m;
    return true;
  }
};

// The extbuf free callback: the last datagram of a buffer was freed (by any
// thread).
void UdpUplink::free_rx_buffer(void* /*addr*/, void* opaque) {
  auto* buf = static_cast<RxBuffer*>(opaque);
  buf->home->give_back(buf);
}

// The extbuf free callback of a slot (kFrame): the buffer goes back when
// its last slot is freed (by any thread).
void UdpUplink::free_rx_slot(void* /*addr*/, void* opaque) {
  auto* slot = static_cast<RxBuffer::Slot*>(opaque);
  rte_mbuf_ext_refcnt_set(&slot->shinfo, 1);
  RxBuffer* buf = slot->buffer;
  if (buf->slots_held.fetch_sub(1, std::memory_order_acq_rel) == 1) buf->home->give_back(buf);
}

std::uint64_t UdpUplinkStats::tx_drops() const { return sum_drops(kUdpCounterInfo, counters, "tx_"); }

Result<void> UdpUplinkConfig::validate() const {
  if (local.is_unspecified() || local.is_multicast()) {
    return make_error("UDP uplink: local address {} must be a unicast address", local.to_string());
  }
  if (udp_port == 0) return make_error("UDP uplink: the VXLAN port must be 1..65535");
  if (send_sockets == 0 || send_sockets > kMaxSendSockets) {
    return make_error("UDP uplink: {} send sockets: use 1..{}", send_sockets, kMaxSendSockets);
  }
  if (src_port_base != 0 && std::uint32_t{src_port_base} + send_sockets > 65536) {
    return make_error("UDP uplink: source ports {}..{} run past 65535", src_port_base,
                      std::uint32_t{src_port_base} + send_sockets - 1);
  }
  if (queues == 0 || queues > kMaxQueues) return make_error("UDP uplink: {} queues: use 1..{}", queues, kMaxQueues);
  const std::uint32_t min_mtu = local.family == Family::kIPv4 ? 576 : 1280;
  if (mtu < min_mtu || mtu > 9216) {
    return make_error("UDP uplink: MTU {} outside {}..9216 for {}", mtu, min_mtu,
                      local.family == Family::kIPv4 ? "IPv4" : "IPv6");
  }
  if (rx_batch == 0 || rx_batch > kMaxRxBatch) {
    return make_error("UDP uplink: receive batch {}: use 1..{}", rx_batch, kMaxRxBatch);
  }
  if (rx_buffers < rx_batch || rx_buffers > 4096) {
    return make_error("UDP uplink: {} receive buffers: use {}..4096 (at least the receive batch)", rx_buffers,
                      rx_batch);
  }
  if (rcvbuf_bytes < 65536 || sndbuf_bytes < 65536) {
    return make_error("UDP uplink: socket buffers must be at least 64 KiB");
  }
  return ok();
}

int UdpUplink::outer_source_offset() { return g_outer_offset; }

const OuterSource& outer_source(const rte_mbuf* m) { return *RTE_MBUF_DYNFIELD(m, g_outer_offset, const OuterSource*); }

UdpUplink::UdpUplink(const UdpUplinkConfig& config, rte_mempool* pool)
    : config_(config),
      pool_(pool),
      max_datagram_(wire::max_datagram(config.local.family, config.mtu)),
      inner_mtu_(wire::inner_mtu(config.local.family, config.mtu)) {
  if (config.delivery == UdpDelivery::kFrame) {
    rx_.slot_payload = max_datagram_;
    rx_.slot_stride = (kSlotHeadroom + max_datagram_ + 63) & ~63u;
    rx_.slots = (kRxBufferSize + max_datagram_ - 1) / max_datagram_;
    rx_.buffer_stride = (rx_.slots * rx_.slot_stride + 4095) & ~4095u;
  }
}

UdpUplink::~UdpUplink() {
  for (auto& q : queues_) {
    for (std::uint32_t i = 0; i < q->pending_count; ++i) rte_pktmbuf_free(q->pending[q->pending_head + i]);
    if (q->rx_fd >= 0) close(q->rx_fd);
    rte_ring_free(q->free_buffers);
    if (q->region != nullptr) munmap(q->region, q->region_size);
  }
  for (int fd : send_fds_) close(fd);
}

Result<std::unique_ptr<UdpUplink>> UdpUplink::open(const UdpUplinkConfig& config, rte_mempool* pool) {
  if (auto valid = config.validate(); !valid) return valid.error();
  if (pool == nullptr) return make_error("UDP uplink: no mbuf pool");
  if (config.delivery == UdpDelivery::kPayload && g_outer_offset < 0) {
    static const rte_mbuf_dynfield desc = {"ferry_udp_outer_source", sizeof(OuterSource), alignof(OuterSource), 0};
    const int offset = rte_mbuf_dynfield_register(&desc);
    if (offset < 0) return make_error("UDP uplink: cannot register the mbuf dynfield: {}", rte_strerror(rte_errno));
    g_outer_offset = offset;
  }
  std::unique_ptr<UdpUplink> up(new UdpUplink(config, pool));
  if (auto opened = up->open_sockets(); !opened) return opened.error();
  return up;
}

Result<void> UdpUplink::open_sockets() {
  const int af = config_.local.af();
  const bool v6 = config_.local.family == Family::kIPv6;
  sockaddr_in6 addr{};

  static std::atomic<unsigned> ring_serial{0};
  for (std::uint16_t qi = 0; qi < config_.queues; ++qi) {
    auto q = std::make_unique<Queue>();
    Queue& queue = *q;
    queues_.push_back(std::move(q));
    queue.rx_fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (queue.rx_fd < 0) return make_sys_error(errno, "UDP uplink: receive socket");
    const int fd = queue.rx_fd;
    if (config_.queues > 1 && set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0) {
      return make_sys_error(errno, "UDP uplink: SO_REUSEPORT");
    }
    if (v6 && (set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) != 0 || set_int(fd, IPPROTO_UDP, UDP_NO_CHECK6_RX, 1) != 0)) {
      return make_sys_error(errno, "UDP uplink: IPV6_V6ONLY / UDP_NO_CHECK6_RX");
    }
    if (config_.gro && set_int(fd, IPPROTO_UDP, UDP_GRO, 1) != 0) return make_sys_error(errno, "UDP uplink: UDP_GRO");
    if (set_int(fd, SOL_SOCKET, SO_RXQ_OVFL, 1) != 0) return make_sys_error(errno, "UDP uplink: SO_RXQ_OVFL");
    // The outer TOS / traffic class of every datagram: its ECN field goes
    // onto the inner packet (RFC 6040) when the pipeline decapsulates.
    if (set_int(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVTCLASS : IP_RECVTOS, 1) != 0) {
      return make_sys_error(errno, "UDP uplink: IP_RECVTOS");
    }
    if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, static_cast<int>(config_.rcvbuf_bytes)) != 0) {
      const int err = errno;
      (void)set_int(fd, SOL_SOCKET, SO_RCVBUF, static_cast<int>(config_.rcvbuf_bytes));
      if (qi == 0) {
        spdlog::warn("UDP uplink: SO_RCVBUFFORCE refused ({}): receive buffer capped by net.core.rmem_max",
                     errno_string(err));
      }
    }
    const socklen_t len = make_sockaddr(config_.local, config_.udp_port, addr);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      return make_sys_error(errno, "UDP uplink: bind {} port {}", config_.local.to_string(), config_.udp_port);
    }
    // Receive buffers and their free list.
    queue.region_size = std::size_t{config_.rx_buffers} * rx_.buffer_stride;
    void* region = mmap(nullptr, queue.region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
      queue.region = nullptr;
      return make_sys_error(errno, "UDP uplink: {} bytes of receive buffers", queue.region_size);
    }
    queue.region = static_cast<std::uint8_t*>(region);
    const std::string ring_name = fmt::format("udpul{}", ring_serial.fetch_add(1));
    queue.free_buffers =
        rte_ring_create(ring_name.c_str(), rte_align32pow2(config_.rx_buffers + 1), SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (queue.free_buffers == nullptr) {
      return make_error("UDP uplink: free-buffer ring: {}", rte_strerror(rte_errno));
    }
    queue.buffers = std::vector<RxBuffer>(config_.rx_buffers);
    if (rx_.slots != 0) queue.linear.resize(kRxBufferSize);
    queue.hot.resize(config_.rx_buffers);
    for (std::uint32_t i = 0; i < config_.rx_buffers; ++i) {
      RxBuffer& b = queue.buffers[i];
      b.data = queue.region + std::size_t{i} * rx_.buffer_stride;
      b.home = &queue;
      b.shinfo.free_cb = free_rx_buffer;
      b.shinfo.fcb_opaque = &b;
      rte_mbuf_ext_refcnt_set(&b.shinfo, 1);
      b.slots.resize(rx_.slots);
      for (RxBuffer::Slot& slot : b.slots) {
        slot.buffer = &b;
        slot.shinfo.free_cb = free_rx_slot;
        slot.shinfo.fcb_opaque = &slot;
        rte_mbuf_ext_refcnt_set(&slot.shinfo, 1);
      }
      rte_ring_mp_enqueue(queue.free_buffers, &b);
    }
  }

  // Send sockets: distinct source ports from src_port_base on, skipping any
  // that another socket holds.
  std::uint32_t port = config_.src_port_base;
  while (send_fds_.size() < config_.send_sockets) {
    const int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_sys_error(errno, "UDP uplink: send socket");
    send_fds_.push_back(fd);
    const int pmtu = v6 ? set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)
                        : set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    if (pmtu != 0 || (v6 && set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) != 0)) {
      return make_sys_error(errno, "UDP uplink: IP_MTU_DISCOVER");
    }
    if (set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, static_cast<int>(config_.sndbuf_bytes)) != 0) {
      (void)set_int(fd, SOL_SOCKET, SO_SNDBUF, static_cast<int>(config_.sndbuf_bytes));
    }
    (void)set_int(fd, SOL_SOCKET, SO_RCVBUF, 4096);  // nobody sends to these ports
    for (;;) {
      if (config_.src_port_base != 0 && port > 65535) {
        return make_error("UDP uplink: no free source port left in {}..65535 on {} for send socket {}",
                          config_.src_port_base, config_.local.to_string(), send_fds_.size());
      }
      const socklen_t len = make_sockaddr(config_.local, static_cast<std::uint16_t>(port), addr);
      if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) == 0) break;
      if (errno != EADDRINUSE || config_.src_port_base == 0) {
        return make_sys_error(errno, "UDP uplink: bind send socket to {} port {}", config_.local.to_string(), port);
      }
      ++port;
    }
    socklen_t len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return make_sys_error(errno, "UDP uplink: getsockname");
    }
    send_ports_.push_back(ntohs(addr.sin6_port));  // sin_port and sin6_port share their offset
    if (config_.src_port_base != 0) ++port;
  }
  gso_active_.store(config_.gso, std::memory_order_relaxed);
  return ok();
}

int UdpUplink::rx_fd(std::uint16_t queue) const { return queue < queues_.size() ? queues_[queue]->rx_fd : -1; }

std::vector<std::uint16_t> UdpUplink::send_ports() const { return send_ports_; }

UdpUplinkStats UdpUplink::stats() const {
  UdpUplinkStats s;
  for (const auto& q : queues_) {
    q->counters.add_to(s.counters);
    // The socket's drop count now (the in-band SO_RXQ_OVFL value only moves
    // when a later datagram arrives).
    std::array<std::uint32_t, SK_MEMINFO_VARS> meminfo{};
    socklen_t len = sizeof meminfo;
    if (getsockopt(q->rx_fd, SOL_SOCKET, SO_MEMINFO, meminfo.data(), &len) == 0 && len > SK_MEMINFO_DROPS * 4) {
      const std::uint64_t inband = q->counters[UdpCounter::rx_missed];
      s.counters[index(UdpCounter::rx_missed)] += std::max<std::uint64_t>(meminfo[SK_MEMINFO_DROPS], inband) - inband;
    }
  }
  return s;
}

// ---------------------------------------------------------------------------
// RX

std::uint16_t UdpUplink::rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  Queue& q = *queues_[queue];
  if (q.owner_lcore == LCORE_ID_ANY) q.owner_lcore = rte_lcore_id();
  if (q.pending_count == 0) {
    q.pending_head = 0;
    receive(q);
  }
  std::uint32_t take = std::min<std::uint32_t>(n, q.pending_count);
  if (take < q.pending_count) {
    // End at a receive buffer's last datagram when one lies in range: the
    // datagrams of one UDP_GRO batch (a peer's super-frame, cut) reach the
    // pipeline in one call, and it coalesces them into one again.
    std::uint32_t k = take;
    while (k > 0 && !q.batch_end[q.pending_head + k - 1]) --k;
    if (k > 0) take = k;
  }
  std::copy_n(&q.pending[q.pending_head], take, pkts);
  q.pending_head += take;
  q.pending_count -= take;
  return static_cast<std::uint16_t>(take);
}

std::uint32_t UdpUplink::receive(Queue& q) {
  const unsigned want = q.take(q.rx_bufs.data(), config_.rx_batch);
  if (want == 0) return 0;  // every buffer is still held by frames in flight
  for (unsigned i = 0; i < want; ++i) {
    msghdr& h = q.rx_msgs[i].msg_hdr;
    h.msg_name = &q.rx_names[i];
    h.msg_namelen = sizeof(sockaddr_in6);
    if (rx_.slots == 0) {
      q.rx_iov[i] = iovec{q.rx_bufs[i]->data, kRxBufferSize};
      h.msg_iov = &q.rx_iov[i];
      h.msg_iovlen = 1;
    } else {
      iovec* iov = &q.rx_iov[std::size_t{i} * kMaxSlots];
      for (std::uint32_t k = 0; k < rx_.slots; ++k) {
        iov[k] = iovec{q.rx_bufs[i]->data + std::size_t{k} * rx_.slot_stride + kSlotHeadroom, rx_.slot_payload};
      }
      h.msg_iov = iov;
      h.msg_iovlen = rx_.slots;
    }
    h.msg_control = q.rx_cmsg[i].data();
    h.msg_controllen = kRxCmsgSize;
    h.msg_flags = 0;
  }
  const int got = recvmmsg(q.rx_fd, q.rx_msgs.data(), want, MSG_DONTWAIT, nullptr);
  const unsigned received = got > 0 ? static_cast<unsigned>(got) : 0;
  for (unsigned i = 0; i < received; ++i) {
    const msghdr& h = q.rx_msgs[i].msg_hdr;
    std::uint32_t gro_size = 0;
    std::uint8_t tos = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
        int v = 0;
        std::memcpy(&v, CMSG_DATA(c), sizeof v);
        gro_size = v > 0 ? static_cast<std::uint32_t>(v) : 0;
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
        tos = *CMSG_DATA(c);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
        int v = 0;
        std::memcpy(&v, CMSG_DATA(c), sizeof v);
        tos = static_cast<std::uint8_t>(v);
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        std::uint32_t drops = 0;
        std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
        q.count(UdpCounter::rx_missed, drops - q.last_ovfl);  // the socket's running count (wraps)
        q.last_ovfl = drops;
      }
    }
    OuterSource src;
    if (q.rx_names[i].sin6_family == AF_INET6) {
      src.family = Family::kIPv6;
      std::memcpy(src.addr.data(), &q.rx_names[i].sin6_addr, 16);
    } else {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(&q.rx_names[i]);
      std::memcpy(src.addr.data(), &sin->sin_addr, 4);
    }
    src.port = ntohs(q.rx_names[i].sin6_port);
    src.tos = tos;
    RxBuffer* buf = q.rx_bufs[i];
    std::uint32_t made = 0;
    bool slotted = false;
    if ((h.msg_flags & MSG_TRUNC) != 0) {
      q.count(UdpCounter::rx_truncated);
    } else {
      const std::uint32_t before = q.pending_count;
      const std::uint32_t size = q.rx_msgs[i].msg_len;
      if (rx_.slots == 0) {
        made = deliver(q, buf, buf->data, size, gro_size, src);
      } else {
        made = deliver_slots(q, buf, size, gro_size, src);
        slotted = made != kNotSlotted;
        if (!slotted) made = deliver(q, buf, linearize(q, buf, size), size, gro_size, src);
      }
      if (q.pending_count > before) q.batch_end[q.pending_count - 1] = true;
    }
    if (made == 0) {
      q.give_back(buf);
    } else if (slotted) {
      buf->slots_held.store(made, std::memory_order_release);
    } else {
      rte_mbuf_ext_refcnt_set(&buf->shinfo, static_cast<std::uint16_t>(made));
    }
  }
  for (unsigned i = received; i < want; ++i) q.give_back(q.rx_bufs[i]);
  return received;
}

// The received bytes of a slotted buffer, contiguous in the queue's linear
// buffer (a copy: what deliver_slots() could not take in place).
std::uint8_t* UdpUplink::linearize(Queue& q, const RxBuffer* buf, std::uint32_t size) {
  std::uint8_t* out = q.linear.data();
  for (std::uint32_t k = 0, at = 0; at < size; ++k, at += rx_.slot_payload) {
    std::memcpy(out + at, buf->data + std::size_t{k} * rx_.slot_stride + kSlotHeadroom,
                std::min(rx_.slot_payload, size - at));
  }
  return out;
}

// Frame mode, without a copy: when every datagram of the buffer lies in a
// slot of its own (one datagram of at most the slot's size, or a UDP_GRO
// batch of full-size datagrams: what bulk TCP from a peer of the same MTU
// sends), each becomes an mbuf attached to its slot with the outer header
// written in front. Returns the mbufs made, or kNotSlotted (nothing
// delivered) for anything else.
std::uint32_t UdpUplink::deliver_slots(Queue& q, RxBuffer* buf, std::uint32_t size, std::uint32_t gro_size,
                                       const OuterSource& src) {
  std::uint8_t* first = buf->data + kSlotHeadroom;
  std::uint32_t step = size;
  if (size > rx_.slot_payload) {
    if (gro_size != rx_.slot_payload) return kNotSlotted;
    const wire::RxSplit split = wire::classify_rx(first, size, gro_size);
    if (split.kind != wire::RxKind::kBatch) return kNotSlotted;
    q.count(UdpCounter::rx_gro_batches);
    step = gro_size;
  } else if (wire::classify_rx(first, size, gro_size).kind != wire::RxKind::kSingle) {
    return kNotSlotted;  // small datagrams sharing the first slot, or a peer's small super-frame
  }
  IpAddress from;
  from.family = src.family;
  from.bytes = src.addr;
  const std::uint32_t outer = wire::outer_size(src.family);
  std::uint32_t made = 0;
  for (std::uint32_t k = 0, off = 0; off < size; ++k, off += step) {
    const std::uint32_t len = std::min(step, size - off);
    q.count(UdpCounter::rx_datagrams);
    q.count(UdpCounter::rx_bytes, len);
    if (len < wire::kVxlanSize + wire::kEthSize) {
      q.count(UdpCounter::rx_runt);
      continue;
    }
    std::uint8_t* slot = buf->data + std::size_t{k} * rx_.slot_stride;
    std::uint8_t* data = slot + kSlotHeadroom;
    const wire::Inner inner = wire::parse_inner(data + wire::kVxlanSize, len - wire::kVxlanSize);
    // No datagram of at most the underlay MTU carries an inner super-frame.
    rte_mbuf* m = q.pending_count < kPendingCapacity ? rte_pktmbuf_alloc(pool_) : nullptr;
    if (m == nullptr) {
      q.count(UdpCounter::rx_no_mbuf);
      continue;
    }
    if (inner.partial_checksum) {
      q.count(UdpCounter::rx_partial_csum);
      wire::complete_l4_checksum(data + wire::kVxlanSize, inner);
      q.count(UdpCounter::rx_csum_completed);
    }
    wire::write_outer(data - outer, config_.frame_mac, from, src.port, config_.local, config_.udp_port, len, src.tos);
    RxBuffer::Slot& s = buf->slots[k];
    rte_pktmbuf_attach_extbuf(m, slot, RTE_BAD_IOVA, static_cast<std::uint16_t>(rx_.slot_stride), &s.shinfo);
    m->data_off = static_cast<std::uint16_t>(kSlotHeadroom - outer);
    m->data_len = static_cast<std::uint16_t>(outer + len);
    m->pkt_len = m->data_len;
    m->port = config_.port_id;
    m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    q.push(m);
    ++made;
  }
  return made;
}

// Splits one received buffer into datagrams and delivers each. Returns how
// many mbufs were attached to `buf` (kPayload).
std::uint32_t UdpUplink::deliver(Queue& q, RxBuffer* buf, std::uint8_t* data, std::uint32_t size,
                                 std::uint32_t gro_size, const OuterSource& src) {
  const wire::RxSplit split = wire::classify_rx(data, size, gro_size);
  const std::uint32_t step = split.kind == wire::RxKind::kBatch ? split.segment_size : size;
  const std::uint32_t udp_gso = split.kind == wire::RxKind::kSuperframe ? split.segment_size : 0;
  if (split.kind == wire::RxKind::kBatch) q.count(UdpCounter::rx_gro_batches);
  std::uint32_t made = 0;
  for (std::uint32_t off = 0; off < size; off += step) {
    const std::uint32_t len = std::min(step, size - off);
    q.count(UdpCounter::rx_datagrams);
    q.count(UdpCounter::rx_bytes, len);
    if (len < wire::kVxlanSize + wire::kEthSize) {
      q.count(UdpCounter::rx_runt);
      continue;
    }
    if (config_.delivery == UdpDelivery::kPayload) {
      deliver_payload(q, buf, data + off, len, udp_gso, src, made);
    } else {
      deliver_frame(q, data + off, len, udp_gso, src);
    }
  }
  return made;
}

void UdpUplink::deliver_payload(Queue& q, RxBuffer* buf, std::uint8_t* data, std::uint32_t size, std::uint32_t udp_gso,
                                const OuterSource& src, std::uint32_t& made) {
  rte_mbuf* m = q.pending_count < kPendingCapacity ? rte_pktmbuf_alloc(pool_) : nullptr;
  if (m == nullptr) {
    q.count(UdpCounter::rx_no_mbuf);
    return;
  }
  // The mbuf's buffer is exactly this datagram: no headroom, so nothing can
  // be written over the datagram before it.
  rte_pktmbuf_attach_extbuf(m, data, RTE_BAD_IOVA, static_cast<std::uint16_t>(size), &buf->shinfo);
  m->data_len = static_cast<std::uint16_t>(size);
  m->pkt_len = size;
  m->port = config_.port_id;
  const wire::Inner inner = wire::parse_inner(data + wire::kVxlanSize, size - wire::kVxlanSize);
  const wire::Offload off = wire::inner_offload(inner, inner_mtu_, udp_gso);
  if (inner.partial_checksum) q.count(UdpCounter::rx_partial_csum);
  if ((off.ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) != 0) q.count(UdpCounter::rx_superframes);
  m->ol_flags |= off.ol_flags;
  m->l2_len = off.l2_len;
  m->l3_len = off.l3_len;
  m->l4_len = off.l4_len;
  m->tso_segsz = off.tso_segsz;
  *RTE_MBUF_DYNFIELD(m, g_outer_offset, OuterSource*) = src;
  q.push(m);
  ++made;
}

void UdpUplink::deliver_frame(Queue& q, const std::uint8_t* data, std::uint32_t size, std::uint32_t udp_gso,
                              const OuterSource& src) {
  IpAddress from;
  from.family = src.family;
  from.bytes = src.addr;
  const std::uint32_t outer = wire::outer_size(src.family);
  const std::uint8_t* frame = data + wire::kVxlanSize;
  const std::uint32_t frame_size = size - wire::kVxlanSize;
  const wire::Inner inner = wire::parse_inner(frame, frame_size);
  const wire::Offload off = wire::inner_offload(inner, inner_mtu_, udp_gso);
  const std::uint32_t room = rte_pktmbuf_data_room_size(pool_) - RTE_PKTMBUF_HEADROOM;
  if (inner.partial_checksum) q.count(UdpCounter::rx_partial_csum);

  if ((off.ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) != 0) {
    q.count(UdpCounter::rx_superframes);
    const std::uint32_t count = wire::segment_count(inner, off.tso_segsz);
    if (outer + wire::kVxlanSize + inner.headers() + off.tso_segsz > room) {
      q.count(UdpCounter::rx_too_big);
      return;
    }
    for (std::uint32_t i = 0; i < count; ++i) {
      rte_mbuf* m = q.pending_count < kPendingCapacity ? rte_pktmbuf_alloc(pool_) : nullptr;
      if (m == nullptr) {
        q.count(UdpCounter::rx_no_mbuf);
        return;
      }
      auto* out = rte_pktmbuf_mtod(m, std::uint8_t*);
      std::memcpy(out + outer, data, wire::kVxlanSize);
      const std::uint32_t seg = wire::write_segment(frame, inner, off.tso_segsz, i, out + outer + wire::kVxlanSize);
      wire::write_outer(out, config_.frame_mac, from, src.port, config_.local, config_.udp_port, wire::kVxlanSize + seg,
                        src.tos);
      m->data_len = static_cast<std::uint16_t>(outer + wire::kVxlanSize + seg);
      m->pkt_len = m->data_len;
      m->port = config_.port_id;
      m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
      q.push(m);
      q.count(UdpCounter::rx_segments);
    }
    return;
  }
  if (outer + size > room) {
    q.count(UdpCounter::rx_too_big);
    return;
  }
  rte_mbuf* m = q.pending_count < kPendingCapacity ? rte_pktmbuf_alloc(pool_) : nullptr;
  if (m == nullptr) {
    q.count(UdpCounter::rx_no_mbuf);
    return;
  }
  auto* out = rte_pktmbuf_mtod(m, std::uint8_t*);
  wire::write_outer(out, config_.frame_mac, from, src.port, config_.local, config_.udp_port, size, src.tos);
  std::memcpy(out + outer, data, size);
  if (inner.partial_checksum) {
    wire::complete_l4_checksum(out + outer + wire::kVxlanSize, inner);
    q.count(UdpCounter::rx_csum_completed);
  }
  m->data_len = static_cast<std::uint16_t>(outer + size);
  m->pkt_len = m->data_len;
  m->port = config_.port_id;
  m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
  q.push(m);
}

// ---------------------------------------------------------------------------
// TX

std::uint16_t UdpUplink::tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  Queue& q = *queues_[queue];
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if ((m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) != 0) {
      stage_superframe(q, m);
    } else {
      stage_frame(q, m);
    }
  }
  send_round(q);
  return n;
}

// A frame that is one datagram: its VXLAN payload gathered from the chain.
void UdpUplink::stage_frame(Queue& q, rte_mbuf* m) {
  UdpCounter drop = UdpCounter::tx_datagrams;  // "no drop"
  std::optional<wire::Outer> outer;
  if (m->nb_segs > kMaxSegsPerFrame) {
    drop = UdpCounter::tx_error;
  } else {
    outer =
        wire::parse_outer(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m));
    if (!outer || outer->family != config_.local.family) {
      drop = UdpCounter::tx_not_vxlan;
    } else if (outer->payload_size > max_datagram_) {
      drop = UdpCounter::tx_too_big;
    } else if ((m->ol_flags & RTE_MBUF_F_TX_L4_MASK) != 0) {
      if (complete_tx_checksum(m)) {
        q.count(UdpCounter::tx_sw_csum);
      } else {
        drop = UdpCounter::tx_error;
      }
    }
  }
  if (drop != UdpCounter::tx_datagrams) {
    q.count(drop);
    rte_pktmbuf_free(m);
    return;
  }
  if (q.item_count + 1 > kTxItems || q.stage_count + kMaxSegsPerFrame > kTxIov) send_round(q);
  Queue::Item& it = q.items[q.item_count++];
  it.outer = *outer;
  it.sock = static_cast<std::uint16_t>(outer->src_port % send_fds_.size());
  it.iov_first = q.stage_count;
  it.iov_count = 0;
  std::uint32_t skip = outer->header_size;
  std::uint32_t left = outer->payload_size;
  for (rte_mbuf* seg = m; seg != nullptr && left != 0; seg = seg->next) {
    const std::uint32_t len = seg->data_len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    const std::uint32_t take = std::min(len - skip, left);
    q.stage_iov[q.stage_count++] = iovec{rte_pktmbuf_mtod_offset(seg, std::uint8_t*, skip), take};
    ++it.iov_count;
    left -= take;
    skip = 0;
  }
  q.round_frames[q.frame_count++] = m;
}

// A VXLAN TCP super-frame (the pipeline hands them whole: tx_caps): cut
// into its segments here, each datagram gathered from a header written in
// seg_headers and payload slices of the super-frame itself, so the payload
// is read once (its checksums) and copied only by the kernel.
void UdpUplink::stage_superframe(Queue& q, rte_mbuf* m) {
  const auto drop = [&](UdpCounter c) {
    q.count(c);
    rte_pktmbuf_free(m);
  };
  if ((m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) == 0 || (m->ol_flags & RTE_MBUF_F_TX_TUNNEL_MASK) == 0) {
    drop(UdpCounter::tx_gso_unsupported);
    return;
  }
  SegmentGather& g = q.gather;
  if (g.start(m) || g.header_size() > kTxHeaderStride) {
    drop(UdpCounter::tx_bad_superframe);
    return;
  }
  const std::uint32_t n = g.segments();
  if (q.item_count + n > kTxItems || q.stage_count + n + g.max_slices() > kTxIov || q.frame_count == kTxItems) {
    send_round(q);
  }
  const std::uint32_t hsize = g.header_size();
  std::optional<wire::Outer> outer;
  for (std::uint32_t k = 0; k < n; ++k) {
    std::uint8_t* hdr = &q.seg_headers[std::size_t{q.header_count + k} * kTxHeaderStride];
    const std::uint32_t iov = q.stage_count;
    const SegmentGather::Piece piece = g.next(hdr, &q.stage_iov[iov + 1]);
    if (k == 0) {
      // The first segment is the largest: its outer header says where they
      // all go, and whether they fit the MTU.
      outer = wire::parse_outer(hdr, hsize, hsize + piece.payload);
      if (!outer || outer->family != config_.local.family || outer->header_size > hsize) {
        drop(UdpCounter::tx_not_vxlan);
        return;
      }
      if (outer->payload_size > max_datagram_) {
        drop(UdpCounter::tx_too_big);
        return;
      }
    }
    q.stage_iov[iov] = iovec{hdr + outer->header_size, hsize - outer->header_size};
    q.stage_count += 1 + piece.slices;
    Queue::Item& it = q.items[q.item_count++];
    it.outer = *outer;
    it.outer.payload_size = hsize - outer->header_size + piece.payload;
    it.sock = static_cast<std::uint16_t>(outer->src_port % send_fds_.size());
    it.iov_first = iov;
    it.iov_count = static_cast<std::uint16_t>(1 + piece.slices);
  }
  q.header_count += n;
  q.round_frames[q.frame_count++] = m;
  q.count(UdpCounter::tx_superframes);
  q.count(UdpCounter::tx_segments, n);
  q.count(UdpCounter::tx_sw_csum_bytes, g.summed());
}

// Sends the round's datagrams, then frees their frames.
void UdpUplink::send_round(Queue& q) {
  const std::uint32_t items = q.item_count;
  const std::uint32_t nsock = static_cast<std::uint32_t>(send_fds_.size());
  const bool gso = gso_active_.load(std::memory_order_relaxed);
  const Family family = config_.local.family;
  const std::uint32_t max_bytes = wire::max_send(family);
  if (items != 0) {
    // 1. Stable order by socket (counting sort): each socket's datagrams
    //    keep their order, so every flow does.
    std::array<std::uint16_t, kMaxSendSockets + 1> per_sock{};
    for (std::uint32_t i = 0; i < items; ++i) ++per_sock[q.items[i].sock + 1];
    for (std::uint32_t s = 1; s <= nsock; ++s) per_sock[s] += per_sock[s - 1];
    {
      auto next = per_sock;
      for (std::uint32_t i = 0; i < items; ++i) q.order[next[q.items[i].sock]++] = static_cast<std::uint16_t>(i);
    }

    // 2. Messages: consecutive same-destination, same-size datagrams of one
    //    socket in one UDP_SEGMENT send.
    std::uint32_t msgs = 0;
    std::uint32_t iovs = 0;
    for (std::uint32_t s = 0; s < nsock; ++s) {
      const std::uint32_t first_msg = msgs;
      wire::GsoGroup group;
      const Queue::Item* head = nullptr;
      for (std::uint32_t k = per_sock[s]; k < per_sock[s + 1]; ++k) {
        const Queue::Item& it = q.items[q.order[k]];
        const bool same_dest = head != nullptr && head->outer.dst == it.outer.dst &&
                               head->outer.dst_port == it.outer.dst_port && head->outer.tos == it.outer.tos;
        if (!(gso && same_dest && wire::gso_append(group, it.outer.payload_size, max_bytes))) {
          group = wire::GsoGroup{};
          wire::gso_append(group, it.outer.payload_size, max_bytes);
          head = &it;
          mmsghdr& mm = q.tx_msgs[msgs];
          msghdr& h = mm.msg_hdr;
          IpAddress dst;
          dst.family = family;
          dst.bytes = it.outer.dst;
          h.msg_name = &q.tx_names[msgs];
          h.msg_namelen = make_sockaddr(dst, it.outer.dst_port, q.tx_names[msgs]);
          h.msg_iov = &q.tx_iov[iovs];
          h.msg_iovlen = 0;
          h.msg_control = nullptr;
          h.msg_controllen = 0;
          h.msg_flags = 0;
          q.msg_datagrams[msgs] = 0;
          q.msg_bytes[msgs] = 0;
          q.msg_gso[msgs] = false;
          ++msgs;
        }
        const std::uint32_t m_idx = msgs - 1;
        msghdr& h = q.tx_msgs[m_idx].msg_hdr;
        std::memcpy(&q.tx_iov[iovs], &q.stage_iov[it.iov_first], sizeof(iovec) * it.iov_count);
        iovs += it.iov_count;
        h.msg_iovlen += it.iov_count;
        ++q.msg_datagrams[m_idx];
        q.msg_bytes[m_idx] += it.outer.payload_size;
        if (q.msg_datagrams[m_idx] == 2 || (q.msg_datagrams[m_idx] == 1 && it.outer.tos != 0)) {
          // Control data: UDP_SEGMENT once a second datagram joins, and the
          // outer TOS / traffic class (ECN) when not zero.
          char* control = q.tx_cmsg[m_idx].data();
          std::memset(control, 0, kTxCmsgSize);
          h.msg_control = control;
          h.msg_controllen = 0;
          cmsghdr* c = nullptr;
          if (head->outer.tos != 0) {
            h.msg_controllen = CMSG_SPACE(sizeof(int));
            c = CMSG_FIRSTHDR(&h);
            c->cmsg_level = family == Family::kIPv4 ? IPPROTO_IP : IPPROTO_IPV6;
            c->cmsg_type = family == Family::kIPv4 ? IP_TOS : IPV6_TCLASS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            const int tos = head->outer.tos;
            std::memcpy(CMSG_DATA(c), &tos, sizeof tos);
          }
          if (q.msg_datagrams[m_idx] == 2) {
            h.msg_controllen += CMSG_SPACE(sizeof(std::uint16_t));
            c = c == nullptr ? CMSG_FIRSTHDR(&h) : CMSG_NXTHDR(&h, c);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
            const auto gso_size = static_cast<std::uint16_t>(group.segment_size);
            std::memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
            q.msg_gso[m_idx] = true;
          }
        }
      }
      if (msgs > first_msg) send_socket_messages(q, s, first_msg, msgs - first_msg);
    }
  }
  // 3. The kernel copied every payload: free the frames.
  if (q.frame_count != 0) rte_pktmbuf_free_bulk(q.round_frames.data(), q.frame_count);
  q.item_count = 0;
  q.stage_count = 0;
  q.frame_count = 0;
  q.header_count = 0;
}

void UdpUplink::send_socket_messages(Queue& q, std::uint32_t sock, std::uint32_t first, std::uint32_t count) {
  const int fd = send_fds_[sock];
  std::uint32_t at = first;
  const std::uint32_t end = first + count;
  while (at < end) {
    q.count(UdpCounter::tx_syscalls);
    const int sent = sendmmsg(fd, &q.tx_msgs[at], end - at, MSG_DONTWAIT);
    if (sent > 0) {
      for (std::uint32_t i = at; i < at + static_cast<std::uint32_t>(sent); ++i) {
        q.count(UdpCounter::tx_messages);
        q.count(UdpCounter::tx_datagrams, q.msg_datagrams[i]);
        q.count(UdpCounter::tx_bytes, q.msg_bytes[i]);
        if (q.msg_gso[i]) q.count(UdpCounter::tx_gso_messages);
      }
      at += static_cast<std::uint32_t>(sent);
      continue;
    }
    // The message at `at` failed.
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      // The socket buffer is full: the rest would fail the same way.
      for (std::uint32_t i = at; i < end; ++i) q.count(UdpCounter::tx_eagain, q.msg_datagrams[i]);
      return;
    }
    if (err == EIO && q.msg_gso[at]) {
      // UDP_SEGMENT needs checksum offload on the route's device: send one
      // datagram per message from now on (the control thread reports it).
      gso_active_.store(false, std::memory_order_relaxed);
      q.count(UdpCounter::tx_error, q.msg_datagrams[at]);
    } else if (err == EMSGSIZE || (err == EINVAL && q.msg_gso[at])) {
      q.count(UdpCounter::tx_too_big, q.msg_datagrams[at]);  // the route's MTU is below ours
    } else {
      q.count(UdpCounter::tx_error, q.msg_datagrams[at]);
    }
    ++at;
  }
}

}  // namespace ferry::dataplane::app
