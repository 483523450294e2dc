#include "dataplane/app/vnet_port.h"

#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "dataplane/app/ports.h"
#include "dataplane/core/coalesce.h"

namespace ferry::dataplane::app {
namespace {

constexpr std::size_t kAuxSpace = CMSG_SPACE(sizeof(tpacket_auxdata));
static_assert(kVnetMaxTxSegments >= kCoalesceMaxChain, "a coalesced super-frame must fit one send");

void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

std::uint64_t read(const std::atomic<std::uint64_t>& counter) { return counter.load(std::memory_order_relaxed); }

// A socket that is closed with its owner.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

Result<void> set_int(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) {
    return make_sys_error(errno, "setsockopt {}", what);
  }
  return ok();
}

// SO_RCVBUFFORCE / SO_SNDBUFFORCE (root or CAP_NET_ADMIN), else the capped one.
void set_buffer(int fd, int force, int plain, std::uint32_t bytes) {
  const int value = static_cast<int>(bytes);
  if (setsockopt(fd, SOL_SOCKET, force, &value, sizeof value) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, plain, &value, sizeof value);
  }
}

// One ethtool on/off feature (legacy ioctl): reads it and turns it on when off.
// Returns whether it is on afterwards.
bool ensure_feature(int fd, const std::string& iface, std::uint32_t get, std::uint32_t set, const char* what) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  ethtool_value value{};
  value.cmd = get;
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  if (ioctl(fd, SIOCETHTOOL, &ifr) != 0) {
    return false;
  }
  if (value.data != 0) {
    return true;
  }
  value.cmd = set;
  value.data = 1;
  if (ioctl(fd, SIOCETHTOOL, &ifr) != 0) {
    spdlog::warn(
        "vnet port {}: {} is off and cannot be turned on ({}): the kernel will segment or checksum what "
        "Ferry sends",
        iface, what, errno_string(errno));
    return false;
  }
  spdlog::info("vnet port {}: turned {} back on (super-frames stay whole)", iface, what);
  return true;
}

}  // namespace

Result<void> VnetConfig::validate() const {
  if (queues == 0 || queues > kMaxPorts) {
    return make_error("vnet: {} queues (1..{})", queues, kMaxPorts);
  }
  if (rcvbuf_bytes < (256U << 10) || sndbuf_bytes < (256U << 10)) {
    return make_error("vnet: socket buffers below 256 KiB hold only a few super-frames");
  }
  return ok();
}

// ---- buffers ----------------------------------------------------------------

Result<std::unique_ptr<VnetBuffers>> VnetBuffers::create(rte_mempool* heads, std::uint16_t queues) {
  auto b = std::unique_ptr<VnetBuffers>(new VnetBuffers());
  b->heads_ = heads;
  b->head_room_ = static_cast<std::uint16_t>(rte_pktmbuf_data_room_size(heads) - RTE_PKTMBUF_HEADROOM);
  // One burst posted per worker, one in flight through the pipeline, and
  // slack for the per-lcore mempool caches; 2^n - 1 (mempool's best size).
  std::uint32_t want = (2U * queues + 2U) * kBurstSize;
  std::uint32_t count = 1;
  while (count < want) count = count * 2 + 1;
  b->large_count_ = count;
  static int instance = 0;
  b->large_ = rte_pktmbuf_pool_create(fmt::format("ferry_vnet{}", instance++).c_str(), count, kBurstSize, 0,
                                      kVnetLargeBufSize, static_cast<int>(rte_socket_id()));
  if (b->large_ == nullptr) {
    return make_error("cannot create the vnet pool of large buffers ({} of {} bytes): {}", count, kVnetLargeBufSize,
                      rte_strerror(rte_errno));
  }
  b->posted_ = std::make_unique<Posted[]>(queues);
  b->queues_ = queues;
  return b;
}

VnetBuffers::~VnetBuffers() {
  // Workers are stopped: give the posted buffers back, then the pool.
  for (std::uint16_t q = 0; q < queues_; ++q) {
    posted_[q].release();
  }
  rte_mempool_free(large_);
}

std::uint64_t VnetBuffers::memory_bytes() const {
  return std::uint64_t{large_count_} * (kVnetLargeBufSize + sizeof(rte_mbuf) + RTE_CACHE_LINE_SIZE);
}

std::uint16_t VnetBuffers::refill(std::uint16_t queue, std::uint16_t n) {
  Posted& p = posted_[queue];
  if (p.heads < n && rte_pktmbuf_alloc_bulk(heads_, p.head + p.heads, n - p.heads) == 0) {
    p.heads = n;
  }
  if (p.larges < n && rte_pktmbuf_alloc_bulk(large_, p.large + p.larges, n - p.larges) == 0) {
    p.larges = n;
  }
  return std::min({n, p.heads, p.larges});
}

void VnetBuffers::Posted::compact() {
  auto squeeze = [](rte_mbuf** slots, std::uint16_t& count) {
    std::uint16_t kept = 0;
    for (std::uint16_t i = 0; i < count; ++i) {
      if (slots[i] != nullptr) slots[kept++] = slots[i];
    }
    count = kept;
  };
  squeeze(head, heads);
  squeeze(large, larges);
}

void VnetBuffers::Posted::release() {
  rte_pktmbuf_free_bulk(head, heads);
  rte_pktmbuf_free_bulk(large, larges);
  heads = 0;
  larges = 0;
}

rte_mbuf* vnet_take_frame(VnetBuffers::Posted& posted, std::uint16_t slot, std::uint32_t size,
                          std::uint16_t head_room) {
  rte_mbuf* head = std::exchange(posted.head[slot], nullptr);
  if (size <= head_room) {
    head->data_len = static_cast<std::uint16_t>(size);
    head->pkt_len = size;
    return head;
  }
  rte_mbuf* tail = std::exchange(posted.large[slot], nullptr);
  head->data_len = head_room;
  tail->data_off = 0;  // the kernel wrote from the start of the buffer
  tail->data_len = static_cast<std::uint16_t>(size - head_room);
  head->pkt_len = size;
  head->next = tail;
  head->nb_segs = 2;
  return head;
}

// ---- the port ---------------------------------------------------------------

struct alignas(64) VnetPort::Queue {
  Fd fd;
  // Written by the queue's worker only.
  std::atomic<std::uint64_t> rx_packets{0}, rx_bytes{0}, tx_packets{0}, tx_bytes{0};
  std::atomic<std::uint64_t> rx_super{0}, tx_super{0}, rx_partial{0}, tx_full{0};
  VnetDropBlock drops;
  // Scratch of the worker's bursts.
  mmsghdr msgs[kBurstSize] = {};
  VnetHdr hdrs[kBurstSize] = {};
  iovec rx_iov[kBurstSize][3] = {};
  alignas(8) unsigned char aux[kBurstSize][kAuxSpace] = {};
  iovec tx_iov[kBurstSize][1 + kVnetMaxTxSegments] = {};
  rte_mbuf* tx_done[kBurstSize] = {};
  rte_mbuf* tx_left[kBurstSize] = {};

  void drop(VnetDrop reason) { drops.count(reason); }
};

VnetPort::VnetPort(std::string iface, VnetBuffers& buffers)
    : Port("vnet", "vnet:" + iface), iface_(std::move(iface)), buffers_(buffers) {}

VnetPort::~VnetPort() = default;  // closing the sockets ends the fanout group and the promiscuous membership

Result<std::unique_ptr<VnetPort>> VnetPort::open(const std::string& iface, VnetBuffers& buffers,
                                                 const VnetConfig& config) {
  if (auto valid = config.validate(); !valid) {
    return valid.error();
  }
  const unsigned ifindex = if_nametoindex(iface.c_str());
  if (ifindex == 0) {
    return make_error("interface '{}' does not exist in this network namespace", iface);
  }
  if (const std::uint32_t mtu = interface_mtu(iface); mtu > config.max_mtu) {
    return make_error("interface {} has MTU {}, above the underlay MTU {} the data plane's buffers are sized for",
                      iface, mtu, config.max_mtu);
  }
  auto port = std::unique_ptr<VnetPort>(new VnetPort(iface, buffers));
  port->ifindex_ = static_cast<int>(ifindex);
  int fanout_id = -1;
  for (std::uint16_t q = 0; q < config.queues; ++q) {
    auto queue = std::make_unique<Queue>();
    queue->fd = Fd(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));  // no protocol: nothing until bound
    const int fd = queue->fd.get();
    if (fd < 0) {
      return make_sys_error(errno, "vnet port {}: socket(AF_PACKET)", iface);
    }
    for (auto [name, what] :
         {std::pair{PACKET_VNET_HDR, "PACKET_VNET_HDR"}, std::pair{PACKET_AUXDATA, "PACKET_AUXDATA"},
          std::pair{PACKET_IGNORE_OUTGOING, "PACKET_IGNORE_OUTGOING"}}) {
      if (auto r = set_int(fd, SOL_PACKET, name, 1, what); !r) {
        return r.error().wrap(fmt::format("vnet port {}", iface));
      }
    }
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, config.rcvbuf_bytes);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, config.sndbuf_bytes);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(ifindex);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      return make_sys_error(errno, "vnet port {}: bind", iface);
    }
    if (q == 0) {
      packet_mreq mreq{};
      mreq.mr_ifindex = static_cast<int>(ifindex);
      mreq.mr_type = PACKET_MR_PROMISC;
      if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
        return make_sys_error(errno, "vnet port {}: PACKET_MR_PROMISC membership", iface);
      }
    }
    if (config.queues > 1) {
      // The first socket makes a group with an id the kernel picks; the
      // others join it. Each flow hashes to one socket, so to one worker.
      const int arg =
          q == 0 ? (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID) << 16 : fanout_id | PACKET_FANOUT_HASH << 16;
      if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
        return make_sys_error(errno, "vnet port {}: PACKET_FANOUT", iface);
      }
      if (q == 0) {
        int value = 0;
        socklen_t len = sizeof value;
        if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &value, &len) != 0) {
          return make_sys_error(errno, "vnet port {}: reading the fanout group", iface);
        }
        fanout_id = value & 0xffff;
      }
    }
    port->queues_.push_back(std::move(queue));
  }
  const int fd = port->queues_.front()->fd.get();
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) {
    std::memcpy(port->mac_.bytes.data(), ifr.ifr_hwaddr.sa_data, 6);
  }
  // What Ferry sends into the host end must stay whole: the kernel would
  // segment it (and complete checksums) on a device without these.
  ensure_feature(fd, iface, ETHTOOL_GTXCSUM, ETHTOOL_STXCSUM, "TX checksum offload");
  ensure_feature(fd, iface, ETHTOOL_GSG, ETHTOOL_SSG, "scatter-gather");
  ensure_feature(fd, iface, ETHTOOL_GTSO, ETHTOOL_STSO, "TSO");
  return port;
}

PortIo VnetPort::io() const {
  PortIo io{PortIo::kNoEthdev, &VnetPort::rx_burst, &VnetPort::tx_burst, const_cast<VnetPort*>(this)};
  io.rx_fd = [](void* state, std::uint16_t queue) {
    const auto& port = *static_cast<const VnetPort*>(state);
    return queue < port.queues_.size() ? port.queues_[queue]->fd.get() : -1;
  };
  return io;
}

std::uint16_t VnetPort::rx_burst(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  auto& port = *static_cast<VnetPort*>(state);
  Queue& q = *port.queues_[queue];
  VnetBuffers& buffers = port.buffers_;
  const std::uint16_t posted = buffers.refill(queue, n);
  if (posted == 0) {
    return 0;  // both pools empty for now: the kernel keeps the frames (or counts its drops)
  }
  VnetBuffers::Posted& p = buffers.posted(queue);
  const std::uint16_t room = buffers.head_room();
  for (std::uint16_t i = 0; i < posted; ++i) {
    q.rx_iov[i][0] = iovec{&q.hdrs[i], sizeof(VnetHdr)};
    q.rx_iov[i][1] = iovec{rte_pktmbuf_mtod(p.head[i], void*), room};
    q.rx_iov[i][2] = iovec{p.large[i]->buf_addr, kVnetLargeBufSize};
    msghdr& h = q.msgs[i].msg_hdr;
    h = msghdr{};
    h.msg_iov = q.rx_iov[i];
    h.msg_iovlen = 3;
    h.msg_control = q.aux[i];
    h.msg_controllen = kAuxSpace;
  }
  const int got = recvmmsg(q.fd.get(), q.msgs, posted, MSG_DONTWAIT, nullptr);
  if (got <= 0) {
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      q.drop(VnetDrop::vnet_rx_error);
    }
    return 0;
  }
  std::uint16_t out = 0;
  std::uint64_t bytes = 0;
  std::uint64_t super = 0;
  std::uint64_t partial = 0;
  for (int i = 0; i < got; ++i) {
    const msghdr& h = q.msgs[i].msg_hdr;
    const std::uint32_t len = q.msgs[i].msg_len;
    if ((h.msg_flags & MSG_TRUNC) != 0 || len < sizeof(VnetHdr) + 14) {
      q.drop(VnetDrop::vnet_truncated);  // its buffers stay posted
      continue;
    }
    const auto slot = static_cast<std::uint16_t>(i);
    rte_mbuf* m = vnet_take_frame(p, slot, len - static_cast<std::uint32_t>(sizeof(VnetHdr)), room);
    const tpacket_auxdata* aux = nullptr;
    for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
      if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
        aux = reinterpret_cast<const tpacket_auxdata*>(CMSG_DATA(c));
      }
    }
    if (aux != nullptr && (aux->tp_status & TP_STATUS_VLAN_VALID) != 0) [[unlikely]] {
      // The kernel took the tag off: put it back (the pipeline refuses tagged
      // endpoint frames), and leave the offload metadata alone (its offsets
      // are the untagged frame's).
      auto* tagged = rte_pktmbuf_mtod(m, std::uint8_t*) - 4;
      if (rte_pktmbuf_prepend(m, 4) != nullptr) {
        std::memmove(tagged, tagged + 4, 12);
        const std::uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? aux->tp_vlan_tpid : 0x8100;
        tagged[12] = static_cast<std::uint8_t>(tpid >> 8);
        tagged[13] = static_cast<std::uint8_t>(tpid);
        tagged[14] = static_cast<std::uint8_t>(aux->tp_vlan_tci >> 8);
        tagged[15] = static_cast<std::uint8_t>(aux->tp_vlan_tci);
      }
    } else if (const VnetDrop d = vnet_hdr_to_mbuf(q.hdrs[i], m); d != VnetDrop::kNone) [[unlikely]] {
      q.drop(d);
      rte_pktmbuf_free(m);
      continue;
    }
    super += (m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) != 0 ? 1 : 0;
    partial += (q.hdrs[i].flags & kVnetNeedsCsum) != 0 ? 1 : 0;
    bytes += m->pkt_len;
    pkts[out++] = m;
  }
  p.compact();
  bump(q.rx_packets, out);
  bump(q.rx_bytes, bytes);
  if (super != 0) bump(q.rx_super, super);
  if (partial != 0) bump(q.rx_partial, partial);
  return out;
}

std::uint16_t VnetPort::tx_burst(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  auto& port = *static_cast<VnetPort*>(state);
  Queue& q = *port.queues_[queue];
  // Messages for the frames that can be sent; the others are dropped (and
  // counted) here, so they count as taken.
  std::uint16_t msgs = 0;
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    VnetDrop d = mbuf_to_vnet_hdr(m, q.hdrs[msgs]);
    if (d == VnetDrop::kNone && m->nb_segs > kVnetMaxTxSegments) {
      d = VnetDrop::vnet_tx_chain_too_long;
    }
    if (d != VnetDrop::kNone) [[unlikely]] {
      q.drop(d);
      rte_pktmbuf_free(m);
      continue;
    }
    iovec* iov = q.tx_iov[msgs];
    iov[0] = iovec{&q.hdrs[msgs], sizeof(VnetHdr)};
    std::size_t k = 1;
    for (rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
      iov[k++] = iovec{rte_pktmbuf_mtod(seg, void*), seg->data_len};
    }
    msghdr& h = q.msgs[msgs].msg_hdr;
    h = msghdr{};
    h.msg_iov = iov;
    h.msg_iovlen = k;
    q.tx_done[msgs] = m;
    ++msgs;
  }
  std::uint16_t sent = 0;  // messages done with: sent, or refused by the kernel
  std::uint16_t refused = 0;
  std::uint64_t bytes = 0;
  std::uint64_t super = 0;
  while (sent < msgs) {
    const int r = sendmmsg(q.fd.get(), q.msgs + sent, msgs - sent, MSG_DONTWAIT);
    if (r > 0) {
      for (int j = 0; j < r; ++j) {
        const rte_mbuf* m = q.tx_done[sent + j];
        bytes += m->pkt_len;
        super += q.hdrs[sent + j].gso_type != kVnetGsoNone ? 1 : 0;
      }
      sent = static_cast<std::uint16_t>(sent + r);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      break;  // the socket is full: the rest goes back to the caller
    }
    // This frame was refused (ENOBUFS: the peer's backlog is full; ENETDOWN,
    // ENXIO: the veth went away, EMSGSIZE, EINVAL): drop it, go on.
    q.drop(VnetDrop::vnet_tx_error);
    ++refused;
    ++sent;
  }
  // tx_done[0..sent) are done with (sent or dropped); the caller keeps the rest
  // at the end of its array.
  rte_pktmbuf_free_bulk(q.tx_done, sent);
  const std::uint16_t left = static_cast<std::uint16_t>(msgs - sent);
  for (std::uint16_t j = 0; j < left; ++j) {
    pkts[n - left + j] = q.tx_done[sent + j];
  }
  bump(q.tx_packets, sent - refused);
  bump(q.tx_bytes, bytes);
  if (super != 0) bump(q.tx_super, super);
  if (left != 0) bump(q.tx_full, left);
  return static_cast<std::uint16_t>(n - left);
}

void VnetPort::read_kernel_drops() {
  for (auto& q : queues_) {
    tpacket_stats stats{};
    socklen_t len = sizeof stats;
    if (getsockopt(q->fd.get(), SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0) {
      kernel_drops_ += stats.tp_drops;  // resets on every read
    }
  }
}

void VnetPort::poll() { read_kernel_drops(); }

PortCounters VnetPort::counters() {
  read_kernel_drops();
  PortCounters c;
  VnetDropBlock::Values drops{};
  for (const auto& q : queues_) {
    c.rx_packets += read(q->rx_packets);
    c.rx_bytes += read(q->rx_bytes);
    c.tx_packets += read(q->tx_packets);
    c.tx_bytes += read(q->tx_bytes);
    q->drops.add_to(drops);
  }
  c.tx_errors = sum_drops(kVnetDropInfo, drops, "vnet_tx_");
  c.rx_missed = kernel_drops_;
  return c;
}

VnetPort::Extra VnetPort::extra() const {
  Extra e;
  for (const auto& q : queues_) {
    q->drops.add_to(e.drops);
    e.rx_super_frames += read(q->rx_super);
    e.tx_super_frames += read(q->tx_super);
    e.rx_csum_partial += read(q->rx_partial);
    e.tx_full += read(q->tx_full);
  }
  return e;
}

std::vector<NamedCounter> VnetPort::counter_template() {
  std::vector<NamedCounter> out;
  out.reserve(kVnetDropCount + 4);
  for (const auto& info : kVnetDropInfo) {
    out.push_back(NamedCounter{info.name, info.help, true, 0});
  }
  out.push_back(NamedCounter{"vnet_rx_super_frames", "GSO super-frames received from vnet endpoints", false, 0});
  out.push_back(NamedCounter{"vnet_tx_super_frames", "GSO super-frames sent to vnet endpoints", false, 0});
  out.push_back(
      NamedCounter{"vnet_rx_csum_partial", "frames received from vnet endpoints with a partial checksum", false, 0});
  out.push_back(
      NamedCounter{"vnet_tx_full", "frames a full vnet socket did not take (counted again as tx_full)", false, 0});
  return out;
}

std::vector<NamedCounter> VnetPort::type_counters() const {
  const Extra e = extra();
  auto out = counter_template();
  for (std::size_t i = 0; i < kVnetDropCount; ++i) {
    out[i].value = e.drops[i];
  }
  out[kVnetDropCount].value = e.rx_super_frames;
  out[kVnetDropCount + 1].value = e.tx_super_frames;
  out[kVnetDropCount + 2].value = e.rx_csum_partial;
  out[kVnetDropCount + 3].value = e.tx_full;
  return out;
}

bool VnetPort::link_up() const {
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(static_cast<unsigned>(ifindex_), name) == nullptr) {
    return false;
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name, IF_NAMESIZE);
  if (ioctl(queues_.front()->fd.get(), SIOCGIFFLAGS, &ifr) != 0) {
    return false;
  }
  return (ifr.ifr_flags & IFF_UP) != 0 && (ifr.ifr_flags & IFF_RUNNING) != 0;
}

PortOffloads VnetPort::offloads() const { return kVnetHeaderOffloads; }

}  // namespace ferry::dataplane::app
