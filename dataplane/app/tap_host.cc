#include "dataplane/app/tap_host.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "dataplane/app/tunnel_hdr.h"

namespace ferry::dataplane::app {
namespace {

using SockPtr = std::unique_ptr<nl_sock, void (*)(nl_sock*)>;

Result<SockPtr> route_socket() {
  SockPtr sock(nl_socket_alloc(), nl_socket_free);
  if (!sock) return make_error("netlink: cannot allocate a socket");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return make_error("netlink: connect: {}", nl_geterror(err));
  }
  return sock;
}

constexpr std::uint32_t kIngressParent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);

// One tap descriptor attached to `name` with our flags.
Result<int> open_tap_fd(const std::string& name, bool multi_queue) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return make_sys_error(errno, "open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi_queue ? IFF_MULTI_QUEUE : 0));
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    close(fd);
    return make_sys_error(err, "TUNSETIFF {}", name);
  }
  int size = static_cast<int>(tunnel_hdr::kSize);
  if (ioctl(fd, TUNSETVNETHDRSZ, &size) != 0) {
    const int err = errno;
    close(fd);
    return make_sys_error(err, "TUNSETVNETHDRSZ 24 on {}", name);
  }
  return fd;
}

Result<void> set_link(const std::string& name, std::uint32_t mtu) {
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return make_sys_error(errno, "socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_mtu = static_cast<int>(mtu);
  if (ioctl(s, SIOCSIFMTU, &ifr) != 0) {
    const int err = errno;
    close(s);
    return make_sys_error(err, "MTU {} on {}", mtu, name);
  }
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0 || (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) != 0)) {
    const int err = errno;
    close(s);
    return make_sys_error(err, "setting {} up", name);
  }
  close(s);
  return ok();
}

// Deletes the link `name` when there is one.
void delete_link(const std::string& name) {
  auto sock = route_socket();
  if (!sock) return;
  rtnl_link* link = rtnl_link_alloc();
  rtnl_link_set_name(link, name.c_str());
  (void)rtnl_link_delete(sock->get(), link);
  rtnl_link_put(link);
}

// A filter object at our priority on `ifindex`'s ingress.
rtnl_cls* our_filter(int ifindex, std::uint16_t protocol, const char* kind) {
  rtnl_cls* c = rtnl_cls_alloc();
  rtnl_tc_set_ifindex(TC_CAST(c), ifindex);
  rtnl_tc_set_parent(TC_CAST(c), kIngressParent);
  if (kind != nullptr) rtnl_tc_set_kind(TC_CAST(c), kind);
  rtnl_cls_set_prio(c, kTapFilterPrio);
  rtnl_cls_set_protocol(c, protocol);
  return c;
}

rtnl_act* redirect_to(int ifindex) {
  rtnl_act* act = rtnl_act_alloc();
  rtnl_tc_set_kind(TC_CAST(act), "mirred");
  rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
  rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
  rtnl_mirred_set_ifindex(act, static_cast<std::uint32_t>(ifindex));
  return act;
}

// Creates `ifindex`'s clsact qdisc; true when we made it, false when it was there.
Result<bool> ensure_clsact(nl_sock* sock, int ifindex) {
  rtnl_qdisc* q = rtnl_qdisc_alloc();
  rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
  rtnl_tc_set_parent(TC_CAST(q), TC_H_CLSACT);
  rtnl_tc_set_handle(TC_CAST(q), TC_H_MAKE(TC_H_CLSACT, 0));
  rtnl_tc_set_kind(TC_CAST(q), "clsact");
  const int err = rtnl_qdisc_add(sock, q, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_qdisc_put(q);
  if (err == -NLE_EXIST) return false;
  if (err < 0) return make_error("tc: clsact qdisc on interface {}: {}", ifindex, nl_geterror(err));
  return true;
}

void delete_clsact(nl_sock* sock, int ifindex) {
  rtnl_qdisc* q = rtnl_qdisc_alloc();
  rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
  rtnl_tc_set_parent(TC_CAST(q), TC_H_CLSACT);
  rtnl_tc_set_handle(TC_CAST(q), TC_H_MAKE(TC_H_CLSACT, 0));
  rtnl_tc_set_kind(TC_CAST(q), "clsact");
  (void)rtnl_qdisc_delete(sock, q);
  rtnl_qdisc_put(q);
}

// Deletes our priority's filters on `ifindex`'s ingress; ok when none.
Result<void> delete_filters(nl_sock* sock, int ifindex, std::uint16_t protocol) {
  rtnl_cls* c = our_filter(ifindex, protocol, nullptr);
  const int err = rtnl_cls_delete(sock, c, 0);
  rtnl_cls_put(c);
  if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV && err != -NLE_INVAL) {
    return make_error("tc: removing the filter of priority {:#x} on interface {}: {}", kTapFilterPrio, ifindex,
                      nl_geterror(err));
  }
  return ok();
}

// Raw rtnetlink request with one reply (RTM_GETROUTE, RTM_GETNEIGH).
// Returns the reply message, or the kernel's errno as an error.
Result<std::vector<std::uint8_t>> rtnl_get(const void* request, std::size_t len) {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return make_sys_error(errno, "netlink socket");
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, request, len, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) < 0) {
    const int err = errno;
    close(fd);
    return make_sys_error(err, "netlink send");
  }
  std::vector<std::uint8_t> buf(8192);
  const ssize_t got = recv(fd, buf.data(), buf.size(), 0);
  const int err = errno;
  close(fd);
  if (got < static_cast<ssize_t>(sizeof(nlmsghdr))) return make_sys_error(err, "netlink receive");
  const auto* h = reinterpret_cast<const nlmsghdr*>(buf.data());
  if (h->nlmsg_type == NLMSG_ERROR) {
    const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
    return make_sys_error(-e->error, "netlink");
  }
  buf.resize(static_cast<std::size_t>(got));
  return buf;
}

void add_attr(nlmsghdr* h, std::uint16_t type, const void* data, std::uint16_t size) {
  auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<std::uint8_t*>(h) + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = static_cast<std::uint16_t>(RTA_LENGTH(size));
  std::memcpy(RTA_DATA(a), data, size);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

}  // namespace

std::string tap_name(int uplink_ifindex) { return fmt::format("ftap{}", uplink_ifindex); }

Result<bool> tap_tunnel_gso_supported() {
  const std::string name = fmt::format("ftprobe{}", getpid() % 100000000);
  auto fd = open_tap_fd(name, false);
  if (!fd) return fd.error().wrap("probing tunnel GSO on a tap");
  const int rc = ioctl(*fd, TUNSETOFFLOAD, static_cast<unsigned long>(tunnel_hdr::kTapOffloads));
  const int err = errno;
  close(*fd);  // not persistent: the scratch tap is gone
  switch (tunnel_hdr::probe_result(rc, err)) {
    case tunnel_hdr::Probe::kSupported:
      return true;
    case tunnel_hdr::Probe::kUnsupported:
      return false;
    case tunnel_hdr::Probe::kError:
      break;
  }
  return make_sys_error(err, "TUNSETOFFLOAD on a scratch tap");
}

Result<TapDevice> TapDevice::open(const std::string& name, std::uint16_t queues, std::uint32_t mtu) {
  if (name.size() >= IFNAMSIZ) return make_error("tap name '{}' is too long", name);
  auto supported = tap_tunnel_gso_supported();
  if (!supported) return supported.error();
  if (!*supported) {
    Error e = make_error("this kernel does not take UDP tunnel GSO on a tap (Linux >= 6.17 does)");
    e.sys_errno = EOPNOTSUPP;
    return e;
  }
  if (if_nametoindex(name.c_str()) != 0) delete_link(name);  // a persistent leftover, or a stranger
  TapDevice dev;
  dev.name_ = name;
  for (std::uint16_t q = 0; q < queues; ++q) {
    auto fd = open_tap_fd(name, queues > 1);
    if (!fd) return fd.error();
    dev.fds_.push_back(*fd);
  }
  if (ioctl(dev.fds_[0], TUNSETOFFLOAD, static_cast<unsigned long>(tunnel_hdr::kTapOffloads)) != 0) {
    return make_sys_error(errno, "TUNSETOFFLOAD on {}", name);
  }
  // No IPv6 on the tap: the kernel's own router solicitations and MLD
  // reports would otherwise come out of it to us.
  {
    std::ofstream v6("/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6");
    if (v6) v6 << "1\n";
  }
  if (auto up = set_link(name, mtu); !up) return up.error();
  dev.ifindex_ = static_cast<int>(if_nametoindex(name.c_str()));
  if (dev.ifindex_ == 0) return make_sys_error(errno, "tap {} vanished", name);
  return dev;
}

TapDevice::~TapDevice() {
  for (int fd : fds_) close(fd);
}

TapDevice::TapDevice(TapDevice&& other) noexcept
    : name_(std::move(other.name_)), ifindex_(other.ifindex_), fds_(std::move(other.fds_)) {
  other.fds_.clear();
}

TapDevice& TapDevice::operator=(TapDevice&& other) noexcept {
  if (this != &other) {
    for (int fd : fds_) close(fd);
    name_ = std::move(other.name_);
    ifindex_ = other.ifindex_;
    fds_ = std::move(other.fds_);
    other.fds_.clear();
  }
  return *this;
}

std::uint64_t TapDevice::tx_dropped() const {
  std::ifstream in("/sys/class/net/" + name_ + "/statistics/tx_dropped");
  std::uint64_t n = 0;
  in >> n;
  return n;
}

Result<TapRedirect> TapRedirect::install(int uplink_ifindex, int tap_ifindex, std::array<std::uint8_t, 4> vtep,
                                         std::uint16_t port) {
  auto sock = route_socket();
  if (!sock) return sock.error();
  nl_sock* s = sock->get();
  TapRedirect r;
  // The tap's side: everything Ferry writes leaves by the uplink.
  if (auto made = ensure_clsact(s, tap_ifindex); !made) return made.error();
  {
    // u32 matching everything (cls_matchall is not in every kernel).
    rtnl_cls* c = our_filter(tap_ifindex, ETH_P_ALL, "u32");
    rtnl_u32_add_key(c, 0, 0, 0, 0);
    rtnl_u32_set_cls_terminal(c);
    rtnl_act* act = redirect_to(uplink_ifindex);
    rtnl_u32_add_action(c, act);
    rtnl_act_put(act);
    const int err = rtnl_cls_add(s, c, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_cls_put(c);
    if (err < 0) return make_error("tc: redirect filter on the tap: {}", nl_geterror(err));
  }
  // The uplink's side: VXLAN to our VTEP address goes to the tap.
  auto made = ensure_clsact(s, uplink_ifindex);
  if (!made) return made.error();
  r.uplink_ = uplink_ifindex;
  r.qdisc_ours_ = *made;
  if (auto stale = delete_filters(s, uplink_ifindex, ETH_P_IP); !stale) return stale.error();
  std::uint32_t vtep_be = 0;
  std::memcpy(&vtep_be, vtep.data(), 4);
  // Two filters, inner TCP over IPv4 and over IPv6 (offsets from the outer
  // IPv4 header: the inner Ethernet type at 48, the inner IP header at 50):
  // only TCP is worth the tap; everything else stays with the UDP sockets'
  // batched receive.
  struct Inner {
    std::uint32_t type_val, proto_val, proto_mask;
  };
  for (const Inner inner : {Inner{0x08000000, 0x00000006, 0x000000ff}, Inner{0x86dd0000, 0x06000000, 0xff000000}}) {
    rtnl_cls* c = our_filter(uplink_ifindex, ETH_P_IP, "u32");
    rtnl_u32_add_key(c, htonl(0x05000000), htonl(0x0f000000), 0, 0);  // IHL 5: no options
    rtnl_u32_add_key(c, htonl(0), htonl(0x00003fff), 4, 0);           // neither MF nor a fragment offset
    rtnl_u32_add_key(c, htonl(0x00110000), htonl(0x00ff0000), 8, 0);  // UDP
    rtnl_u32_add_key(c, vtep_be, 0xffffffffU, 16, 0);                 // to our VTEP address
    rtnl_u32_add_key(c, htonl(port), htonl(0x0000ffff), 20, 0);       // destination port
    rtnl_u32_add_key(c, htonl(inner.type_val), htonl(0xffff0000), 48, 0);
    rtnl_u32_add_key(c, htonl(inner.proto_val), htonl(inner.proto_mask), 56, 0);
    rtnl_u32_set_cls_terminal(c);
    rtnl_act* act = redirect_to(tap_ifindex);
    rtnl_u32_add_action(c, act);
    rtnl_act_put(act);
    const int err = rtnl_cls_add(s, c, NLM_F_CREATE);
    rtnl_cls_put(c);
    if (err < 0) return make_error("tc: redirect filter on the uplink's ingress: {}", nl_geterror(err));
  }
  return r;
}

TapRedirect::~TapRedirect() {
  if (uplink_ == 0) return;
  auto sock = route_socket();
  if (!sock) return;
  (void)delete_filters(sock->get(), uplink_, ETH_P_IP);
  if (qdisc_ours_) delete_clsact(sock->get(), uplink_);
}

TapRedirect::TapRedirect(TapRedirect&& other) noexcept : uplink_(other.uplink_), qdisc_ours_(other.qdisc_ours_) {
  other.uplink_ = 0;
}

TapRedirect& TapRedirect::operator=(TapRedirect&& other) noexcept {
  if (this != &other) {
    std::swap(uplink_, other.uplink_);
    std::swap(qdisc_ours_, other.qdisc_ours_);
  }
  return *this;
}

Result<void> remove_stale_tap_redirect(int uplink_ifindex) {
  auto sock = route_socket();
  if (!sock) return sock.error();
  return delete_filters(sock->get(), uplink_ifindex, ETH_P_IP);
}

Result<bool> tap_redirect_present(int ifindex) {
  auto sock = route_socket();
  if (!sock) return sock.error();
  nl_cache* raw = nullptr;
  if (int err = rtnl_cls_alloc_cache(sock->get(), ifindex, kIngressParent, &raw); err < 0) {
    if (err == -NLE_INVAL || err == -NLE_OPNOTSUPP) return false;  // no clsact qdisc
    return make_error("tc: listing filters: {}", nl_geterror(err));
  }
  std::unique_ptr<nl_cache, void (*)(nl_cache*)> cache(raw, nl_cache_free);
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    if (rtnl_cls_get_prio(reinterpret_cast<rtnl_cls*>(o)) == kTapFilterPrio) return true;
  }
  return false;
}

Result<std::optional<NextHop>> lookup_next_hop(std::array<std::uint8_t, 4> dst, int ifindex) {
  // The route: the gateway, or the destination itself when on-link.
  struct {
    nlmsghdr h;
    rtmsg r;
    std::array<std::uint8_t, 64> attrs;
  } route_req{};
  route_req.h.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  route_req.h.nlmsg_type = RTM_GETROUTE;
  route_req.h.nlmsg_flags = NLM_F_REQUEST;
  route_req.r.rtm_family = AF_INET;
  route_req.r.rtm_dst_len = 32;
  add_attr(&route_req.h, RTA_DST, dst.data(), 4);
  auto route = rtnl_get(&route_req, route_req.h.nlmsg_len);
  if (!route) {
    if (route.error().sys_errno == ENETUNREACH || route.error().sys_errno == EHOSTUNREACH) {
      return std::optional<NextHop>{};
    }
    return route.error().wrap("route lookup");
  }
  const auto* rh = reinterpret_cast<const nlmsghdr*>(route->data());
  if (rh->nlmsg_type != RTM_NEWROUTE) return std::optional<NextHop>{};
  const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(rh));
  if (rt->rtm_type != RTN_UNICAST) return std::optional<NextHop>{};  // local, unreachable, blackhole...
  std::array<std::uint8_t, 4> via = dst;
  int oif = 0;
  int len = static_cast<int>(RTM_PAYLOAD(rh));
  for (const auto* a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= 4) std::memcpy(&oif, RTA_DATA(a), 4);
    if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == 4) std::memcpy(via.data(), RTA_DATA(a), 4);
  }
  if (oif != ifindex) return std::optional<NextHop>{};  // leaves elsewhere: the kernel's path only

  struct {
    nlmsghdr h;
    ndmsg n;
    std::array<std::uint8_t, 64> attrs;
  } neigh_req{};
  neigh_req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
  neigh_req.h.nlmsg_type = RTM_GETNEIGH;
  neigh_req.h.nlmsg_flags = NLM_F_REQUEST;
  neigh_req.n.ndm_family = AF_INET;
  neigh_req.n.ndm_ifindex = ifindex;
  add_attr(&neigh_req.h, NDA_DST, via.data(), 4);
  auto neigh = rtnl_get(&neigh_req, neigh_req.h.nlmsg_len);
  if (!neigh) {
    if (neigh.error().sys_errno == ENOENT) return std::optional<NextHop>{};
    return neigh.error().wrap("neighbour lookup");
  }
  const auto* nh = reinterpret_cast<const nlmsghdr*>(neigh->data());
  if (nh->nlmsg_type != RTM_NEWNEIGH) return std::optional<NextHop>{};
  const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(nh));
  constexpr std::uint16_t kValid = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;
  if ((nd->ndm_state & kValid) == 0) return std::optional<NextHop>{};
  NextHop hop;
  hop.stale = (nd->ndm_state & (NUD_STALE | NUD_DELAY | NUD_PROBE)) != 0;
  bool have_mac = false;
  len = static_cast<int>(NLMSG_PAYLOAD(nh, sizeof(ndmsg)));
  for (const auto* a =
           reinterpret_cast<const rtattr*>(reinterpret_cast<const std::uint8_t*>(nd) + NLMSG_ALIGN(sizeof(ndmsg)));
       RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
      std::memcpy(hop.mac.data(), RTA_DATA(a), 6);
      have_mac = true;
    }
  }
  if (!have_mac) return std::optional<NextHop>{};
  if (hop.stale) {
    // Let the kernel confirm it, as if it had sent to it (NTF_USE): Ferry's
    // frames bypass the neighbour code, which would otherwise never
    // re-verify a stale entry.
    neigh_req.h.nlmsg_type = RTM_NEWNEIGH;
    neigh_req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    neigh_req.n.ndm_flags = NTF_USE;
    (void)rtnl_get(&neigh_req, neigh_req.h.nlmsg_len);
  }
  return std::optional<NextHop>{hop};
}

}  // namespace ferry::dataplane::app
