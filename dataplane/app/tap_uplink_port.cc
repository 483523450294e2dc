#include "dataplane/app/tap_uplink_port.h"

#include <net/if.h>
#include <rte_mbuf.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "dataplane/app/tunnel_hdr.h"
#include "dataplane/app/vnet_hdr.h"
#include "dataplane/app/vnet_port.h"
#include "dataplane/core/port_caps.h"

namespace ferry::dataplane::app {
namespace {

constexpr std::uint32_t kWanted = 8;  // per queue: VTEPs a worker missed, for the control thread
constexpr std::uint64_t kMacValid = 1ULL << 63;
constexpr std::uint64_t kSegFlags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG;
constexpr std::uint64_t kAskFlags = kSegFlags | RTE_MBUF_F_TX_L4_MASK;
constexpr std::uint16_t kUdpBatch = 64;

std::uint64_t pack_mac(const std::array<std::uint8_t, 6>& mac) {
  std::uint64_t v = 0;
  for (int i = 5; i >= 0; --i) v = (v << 8) | mac[static_cast<std::size_t>(i)];
  return v;
}

}  // namespace

bool inner_tcp(const std::uint8_t* frame, std::uint32_t size) {
  if (size < 14 + 20) return false;
  const unsigned type = (frame[12] << 8) | frame[13];
  if (type == 0x0800) return frame[14 + 9] == 6;
  return type == 0x86dd && size >= 14 + 40 && frame[14 + 6] == 6;
}

// ---- NextHopTable -----------------------------------------------------------

std::uint32_t NextHopTable::home(std::uint32_t ip) { return (ip * 2654435761U) >> 25; }  // 7 bits: kSlots

bool NextHopTable::find(std::uint32_t ip, std::uint64_t& mac) const {
  for (std::uint32_t i = 0, at = home(ip); i < kSlots; ++i, at = (at + 1) % kSlots) {
    const Slot& s = slots_[at];
    const std::uint32_t seq = s.seq.load(std::memory_order_acquire);
    const std::uint32_t key = s.ip.load(std::memory_order_relaxed);
    const std::uint64_t value = s.mac.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if ((seq & 1) != 0 || s.seq.load(std::memory_order_relaxed) != seq) return false;  // being written: a miss
    if (key == 0) return false;
    if (key == ip) {
      if ((value & kMacValid) == 0) return false;
      mac = value & ~kMacValid;
      return true;
    }
  }
  return false;
}

NextHopTable::Slot* NextHopTable::slot_for(std::uint32_t ip, bool insert) {
  for (std::uint32_t i = 0, at = home(ip); i < kSlots; ++i, at = (at + 1) % kSlots) {
    Slot& s = slots_[at];
    const std::uint32_t key = s.ip.load(std::memory_order_relaxed);
    if (key == ip) return &s;
    if (key == 0) return insert ? &s : nullptr;
  }
  return nullptr;
}

bool NextHopTable::set(std::uint32_t ip, const std::array<std::uint8_t, 6>& mac) {
  Slot* s = slot_for(ip, true);
  if (s == nullptr) return false;
  const std::uint64_t value = pack_mac(mac) | kMacValid;
  if (s->ip.load(std::memory_order_relaxed) == ip && s->mac.load(std::memory_order_relaxed) == value) return true;
  const std::uint32_t seq = s->seq.load(std::memory_order_relaxed);
  s->seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s->ip.store(ip, std::memory_order_relaxed);
  s->mac.store(value, std::memory_order_relaxed);
  s->seq.store(seq + 2, std::memory_order_release);
  return true;
}

void NextHopTable::invalidate(std::uint32_t ip) {
  Slot* s = slot_for(ip, false);
  if (s == nullptr || (s->mac.load(std::memory_order_relaxed) & kMacValid) == 0) return;
  const std::uint32_t seq = s->seq.load(std::memory_order_relaxed);
  s->seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s->mac.store(0, std::memory_order_relaxed);
  s->seq.store(seq + 2, std::memory_order_release);
}

// ---- the port ---------------------------------------------------------------

struct alignas(64) TapUplinkPort::Queue {
  int fd = -1;    // the tap queue (owned by the TapDevice)
  int epfd = -1;  // the tap queue and the UDP receive socket, for an idle worker
  TapCounterBlock counters;
  std::array<std::atomic<std::uint32_t>, kWanted> wanted{};
  alignas(8) std::array<std::uint8_t, tunnel_hdr::kSize> rx_hdr{};
  alignas(8) std::array<std::uint8_t, tunnel_hdr::kSize> tx_hdr{};
  std::array<iovec, kVnetMaxTxSegments + 1> tx_iov{};

  void count(TapCounter c, std::uint64_t n = 1) { counters.count(c, n); }
  void want(std::uint32_t ip) { wanted[(ip * 2654435761U) >> 29].store(ip, std::memory_order_relaxed); }
};

TapSupport tap_uplink_supported() {
  auto supported = tap_tunnel_gso_supported();
  if (!supported) return {false, supported.error().message};
  if (!*supported) return {false, "this kernel does not take UDP tunnel GSO on a tap (Linux >= 6.17 does)"};
  return {true, {}};
}

UplinkMode resolve_uplink_mode(UplinkMode mode, const TapSupport& support) {
  if (mode != UplinkMode::kAuto) return mode;
  if (support.supported) {
    spdlog::info("--uplink-mode auto: tap (this kernel takes UDP tunnel GSO on a tap)");
    return UplinkMode::kTap;
  }
  spdlog::info("--uplink-mode auto: udp ({})", support.reason);
  return UplinkMode::kUdp;
}

TapUplinkPort::TapUplinkPort(std::unique_ptr<UdpUplinkPort> udp, TapDevice tap, std::uint32_t mtu, VnetBuffers& buffers)
    : Port("tap", fmt::format("tap:{}", udp->host().iface)),
      udp_(std::move(udp)),
      tap_(std::move(tap)),
      buffers_(&buffers),
      mtu_(mtu) {}

TapUplinkPort::~TapUplinkPort() {
  for (auto& q : queues_) {
    if (q->epfd >= 0) close(q->epfd);
  }
}

Result<std::unique_ptr<TapUplinkPort>> TapUplinkPort::open(const Config& config, rte_mempool* pool,
                                                           std::uint16_t queues, std::uint32_t mtu,
                                                           VnetBuffers& buffers) {
  auto udp = UdpUplinkPort::open(config, pool, queues, mtu);
  if (!udp) return udp.error();
  const std::string iface = (*udp)->host().iface;
  const unsigned ifindex = if_nametoindex(iface.c_str());
  if (ifindex == 0) return make_sys_error(errno, "uplink {}", iface);
  auto tap = TapDevice::open(app::tap_name(static_cast<int>(ifindex)), queues, mtu);
  if (!tap) return tap.error();
  std::unique_ptr<TapUplinkPort> port(new TapUplinkPort(std::move(*udp), std::move(*tap), mtu, buffers));
  port->uplink_ifindex_ = static_cast<int>(ifindex);
  port->tap_drops_base_ = port->tap_.tx_dropped();
  for (std::uint16_t i = 0; i < queues; ++i) {
    auto q = std::make_unique<Queue>();
    q->fd = port->tap_.fd(i);
    q->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (q->epfd < 0) return make_sys_error(errno, "epoll_create1");
    for (const int fd : {q->fd, port->udp_->uplink().rx_fd(i)}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) return make_sys_error(errno, "epoll_ctl");
    }
    port->queues_.push_back(std::move(q));
  }
  const std::uint32_t v = config.vtep.addr.value;
  const std::array<std::uint8_t, 4> vtep = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                                            static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  auto redirect = TapRedirect::install(static_cast<int>(ifindex), port->tap_.ifindex(), vtep, config.vxlan_port);
  if (!redirect) return redirect.error();
  port->redirect_ = std::move(*redirect);
  spdlog::info(
      "uplink {}: tap {} ({} queue(s), tunnel GSO) takes VXLAN to {}:{} whole (tc redirect, priority {:#x}); "
      "the UDP sockets carry frames without a resolved next hop",
      iface, port->tap_.name(), queues, dp_api::format_ipv4(config.vtep.addr), config.vxlan_port, kTapFilterPrio);
  return port;
}

PortIo TapUplinkPort::io() const {
  PortIo io{PortIo::kNoEthdev, &TapUplinkPort::rx, &TapUplinkPort::tx, const_cast<TapUplinkPort*>(this)};
  io.rx_fd = [](void* state, std::uint16_t queue) { return static_cast<TapUplinkPort*>(state)->queues_[queue]->epfd; };
  return io;
}

std::uint16_t TapUplinkPort::rx(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  auto& port = *static_cast<TapUplinkPort*>(state);
  Queue& q = *port.queues_[queue];
  // One system call says which of the two has frames, so an idle one costs
  // no failed read: a poll with nothing waiting is one call, as in udp mode.
  std::array<epoll_event, 2> ready{};
  const int k = epoll_wait(q.epfd, ready.data(), static_cast<int>(ready.size()), 0);
  bool tap = k < 0;  // EINTR: read both
  bool udp = k < 0;
  for (int i = 0; i < k; ++i) {
    if (ready[static_cast<std::size_t>(i)].data.fd == q.fd) {
      tap = true;
    } else {
      udp = true;
    }
  }
  std::uint16_t got = tap ? port.read_tap(q, queue, pkts, std::min<std::uint16_t>(n, kBurstSize)) : 0;
  if (udp && got < n) got = static_cast<std::uint16_t>(got + port.udp_->uplink().rx_burst(queue, pkts + got, n - got));
  return got;
}

std::uint16_t TapUplinkPort::read_tap(Queue& q, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  const std::uint16_t posted = buffers_->refill(queue, n);
  if (posted == 0) return 0;
  VnetBuffers::Posted& p = buffers_->posted(queue);
  const std::uint16_t room = buffers_->head_room();
  std::uint16_t out = 0;
  std::uint64_t bytes = 0;
  for (std::uint16_t i = 0; i < posted; ++i) {
    std::array<iovec, 3> iov = {iovec{q.rx_hdr.data(), tunnel_hdr::kSize},
                                iovec{rte_pktmbuf_mtod(p.head[i], void*), room},
                                iovec{p.large[i]->buf_addr, kVnetLargeBufSize}};
    const ssize_t r = readv(q.fd, iov.data(), 3);
    if (r < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) q.count(TapCounter::rx_error);
      break;
    }
    const auto size = static_cast<std::uint32_t>(r);
    if (size < tunnel_hdr::kSize + 14 || size - tunnel_hdr::kSize >= std::uint32_t{room} + kVnetLargeBufSize) {
      q.count(TapCounter::rx_truncated);  // its buffers stay posted
      continue;
    }
    rte_mbuf* m = vnet_take_frame(p, i, size - tunnel_hdr::kSize, room);
    const tunnel_hdr::Header h = tunnel_hdr::decode(q.rx_hdr.data());
    if (h.flags != 0 || h.gso_type != 0) {
      const auto outer = tunnel_hdr::outer_layout(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m));
      tunnel_hdr::RxDecap d;
      if (outer) {
        d = tunnel_hdr::tunnel_rx_decap(h, *outer);
      } else {
        d.refused = h.gso_type != 0;  // a plain frame with a checksum request: nothing to move
      }
      VnetDrop bad = d.refused ? VnetDrop::vnet_bad_headers : VnetDrop::kNone;
      if (outer && !d.refused && (d.inner.flags != 0 || d.inner.gso_type != 0)) {
        // The inner frame's metadata, offsets from the inner Ethernet header
        // (what they are once decapsulation strips the outer ones).
        rte_pktmbuf_adj(m, outer->inner);
        bad = vnet_hdr_to_mbuf(d.inner, m);
        rte_pktmbuf_prepend(m, outer->inner);
        if ((m->ol_flags & kSegFlags) != 0) q.count(TapCounter::rx_superframes);
        q.count(TapCounter::rx_csum_partial);
      }
      if (d.outer_only) q.count(TapCounter::rx_outer_csum_only);
      if (bad != VnetDrop::kNone) [[unlikely]] {
        q.count(TapCounter::rx_bad_header);
        rte_pktmbuf_free(m);
        continue;
      }
    }
    bytes += rte_pktmbuf_pkt_len(m);
    pkts[out++] = m;
  }
  p.compact();
  if (out != 0) {
    q.count(TapCounter::rx_frames, out);
    q.count(TapCounter::rx_bytes, bytes);
  }
  return out;
}

std::uint16_t TapUplinkPort::tx(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  auto& port = *static_cast<TapUplinkPort*>(state);
  Queue& q = *port.queues_[queue];
  rte_mbuf* udp[kUdpBatch];
  std::uint16_t n_udp = 0;
  for (std::uint16_t i = 0; i < n; ++i) {
    if (port.write_tap(q, pkts[i])) continue;
    udp[n_udp++] = pkts[i];
    if (n_udp == kUdpBatch) {
      port.udp_->uplink().tx_burst(queue, udp, n_udp);
      n_udp = 0;
    }
  }
  if (n_udp != 0) port.udp_->uplink().tx_burst(queue, udp, n_udp);
  return n;
}

bool TapUplinkPort::write_tap(Queue& q, rte_mbuf* m) {
  auto* head = rte_pktmbuf_mtod(m, std::uint8_t*);
  const auto outer = tunnel_hdr::outer_layout(head, rte_pktmbuf_data_len(m));
  if (!outer || outer->ipv6 || m->nb_segs > kVnetMaxTxSegments) {
    q.count(TapCounter::tx_not_tap);
    return false;
  }
  const auto drop = [&](TapCounter c) {
    q.count(c);
    rte_pktmbuf_free(m);
    return true;
  };
  const std::uint32_t ip_size = rte_pktmbuf_pkt_len(m) - 14;
  if (ip_size > 65535) return drop(TapCounter::tx_too_big);
  std::uint32_t dst = 0;
  std::memcpy(&dst, head + 14 + 16, 4);
  std::uint64_t mac = 0;
  if (!next_hops_.find(dst, mac)) {
    q.want(dst);
    q.count(TapCounter::tx_neigh_miss);
    return false;
  }
  // Inner TCP only: its super-frames are what the tap is for, and a flow
  // keeps one path (in order). Everything else (UDP, ICMP, ARP) leaves in
  // the UDP sockets' sendmmsg batches, which move small frames several
  // times faster than one write per frame.
  if (!inner_tcp(head + outer->inner, rte_pktmbuf_data_len(m) - outer->inner)) {
    q.count(TapCounter::tx_not_tcp);
    return false;
  }
  const std::uint64_t asks = m->ol_flags & kAskFlags;
  const bool gso = (asks & kSegFlags) != 0;
  // The underlay MTU per segment: the kernel would report an oversize one to
  // the local source only, never to us.
  const std::uint32_t segment_ip =
      gso ? std::uint32_t{outer->inner} - 14 + m->l3_len + m->l4_len + m->tso_segsz + (m->l2_len - 16) : ip_size;
  if (segment_ip > mtu_) return drop(TapCounter::tx_too_big);
  VnetHdr inner;
  std::uint16_t inner_l3 = 14;
  if (asks != 0) {
    rte_pktmbuf_adj(m, outer->inner);
    const VnetDrop d = mbuf_to_vnet_hdr(m, inner);
    if (d == VnetDrop::kNone && inner.gso_type != kVnetGsoNone) {
      FrameLayout f;
      if (parse_frame_layout(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m),
                             f)) {
        inner_l3 = f.l3;
      }
    }
    rte_pktmbuf_prepend(m, outer->inner);
    if (d != VnetDrop::kNone) {
      return drop(d == VnetDrop::vnet_tx_too_big ? TapCounter::tx_too_big : TapCounter::tx_bad_offload);
    }
  }
  tunnel_hdr::encode(tunnel_hdr::tunnel_tx_header(inner, *outer, inner_l3), q.tx_hdr.data());
  std::memcpy(head, &mac, 6);  // the next hop (little-endian: first byte lowest)
  std::uint32_t iovs = 0;
  q.tx_iov[iovs++] = iovec{q.tx_hdr.data(), tunnel_hdr::kSize};
  for (rte_mbuf* s = m; s != nullptr; s = s->next) {
    if (s->data_len != 0) q.tx_iov[iovs++] = iovec{rte_pktmbuf_mtod(s, void*), s->data_len};
  }
  const std::uint32_t len = rte_pktmbuf_pkt_len(m);
  const ssize_t w = writev(q.fd, q.tx_iov.data(), static_cast<int>(iovs));
  rte_pktmbuf_free(m);
  if (w < 0) {
    q.count(TapCounter::tx_error);
    return true;
  }
  q.count(TapCounter::tx_frames);
  q.count(TapCounter::tx_bytes, len);
  if (inner.gso_type != kVnetGsoNone) q.count(TapCounter::tx_superframes);
  return true;
}

void TapUplinkPort::resolve() {
  for (auto& q : queues_) {
    for (auto& w : q->wanted) {
      const std::uint32_t ip = w.exchange(0, std::memory_order_relaxed);
      if (ip != 0 && std::find(vteps_.begin(), vteps_.end(), ip) == vteps_.end() &&
          vteps_.size() < NextHopTable::kSlots / 2) {
        vteps_.push_back(ip);
      }
    }
  }
  for (const std::uint32_t ip : vteps_) {
    std::array<std::uint8_t, 4> addr{};
    std::memcpy(addr.data(), &ip, 4);
    auto hop = lookup_next_hop(addr, uplink_ifindex_);
    if (hop && *hop) {
      std::uint64_t before = 0;
      const bool had = next_hops_.find(ip, before);
      next_hops_.set(ip, (*hop)->mac);
      if (!had || before != pack_mac((*hop)->mac)) {
        spdlog::info("tap uplink: VTEP {}.{}.{}.{} via {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", addr[0], addr[1],
                     addr[2], addr[3], (*hop)->mac[0], (*hop)->mac[1], (*hop)->mac[2], (*hop)->mac[3], (*hop)->mac[4],
                     (*hop)->mac[5]);
      }
    } else {
      next_hops_.invalidate(ip);
      if (!hop) spdlog::debug("tap uplink: next hop lookup: {}", hop.error().message);
    }
  }
}

void TapUplinkPort::poll() {
  udp_->poll();
  resolve();
  const std::uint64_t dropped = tap_.tx_dropped();
  tap_drops_.store(dropped >= tap_drops_base_ ? dropped - tap_drops_base_ : 0, std::memory_order_relaxed);
}

TapCounterBlock::Values TapUplinkPort::tap_counters() const {
  TapCounterBlock::Values out{};
  for (const auto& q : queues_) q->counters.add_to(out);
  out[static_cast<std::size_t>(TapCounter::rx_missed)] += tap_drops_.load(std::memory_order_relaxed);
  return out;
}

PortCounters TapUplinkPort::counters() {
  PortCounters c = udp_->counters();
  const auto t = tap_counters();
  const auto at = [&t](TapCounter k) { return t[static_cast<std::size_t>(k)]; };
  c.rx_packets += at(TapCounter::rx_frames);
  c.rx_bytes += at(TapCounter::rx_bytes);
  c.tx_packets += at(TapCounter::tx_frames);
  c.tx_bytes += at(TapCounter::tx_bytes);
  c.rx_missed += at(TapCounter::rx_missed);
  c.tx_errors += sum_drops(kTapCounterInfo, t, "tx_");
  return c;
}

PortOffloads TapUplinkPort::offloads() const { return kVnetHeaderOffloads; }

std::vector<std::pair<std::string, std::uint64_t>> TapUplinkPort::named_counters() const {
  auto out = udp_->named_counters();
  const auto t = tap_counters();
  for (std::size_t i = 0; i < kTapCounterCount; ++i) {
    out.emplace_back(std::string("tap_uplink_").append(kTapCounterInfo[i].name), t[i]);
  }
  return out;
}

}  // namespace ferry::dataplane::app
