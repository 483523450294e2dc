#include "netns/rtnl.h"

// <net/if.h> must come before libnl, which pulls in <linux/if.h>.
#include <net/if.h>
// clang-format off
#include <linux/ethtool.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
// clang-format on
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <system_error>

namespace ferry::netns {
namespace {

// What the kernel said about the last failed request: libnl folds errno into
// its own coarser codes and drops the kernel's extended-ACK message, so an
// error callback keeps both for the error we report.
template <typename Slot>
int capture_kernel_error(struct sockaddr_nl* /*who*/, struct nlmsgerr* err, void* arg) {
  auto* out = static_cast<Slot*>(arg);
  out->sys_errno = -err->error;
  out->message.clear();
  // nlmsgerr sits right after its own nlmsghdr; extended-ACK attributes (if
  // any) follow the echoed request, which is capped to its header when
  // NETLINK_CAP_ACK is on.
  const auto* hdr = reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(err) - NLMSG_HDRLEN);
  if ((hdr->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
    std::size_t offset = NLMSG_HDRLEN + sizeof(nlmsgerr);
    if ((hdr->nlmsg_flags & NLM_F_CAPPED) == 0) offset += err->msg.nlmsg_len - NLMSG_HDRLEN;
    const char* base = reinterpret_cast<const char*>(hdr);
    while (offset + NLA_HDRLEN <= hdr->nlmsg_len) {
      const auto* attr = reinterpret_cast<const nlattr*>(base + offset);
      if (attr->nla_len < NLA_HDRLEN || offset + attr->nla_len > hdr->nlmsg_len) break;
      if ((attr->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && attr->nla_len > NLA_HDRLEN) {
        const char* text = base + offset + NLA_HDRLEN;
        out->message.assign(text, strnlen(text, attr->nla_len - NLA_HDRLEN));
      }
      offset += NLA_ALIGN(attr->nla_len);
    }
  }
  return NL_STOP;  // libnl then returns its own code for this errno
}

// libnl error code to an errno, for the codes we branch on.
int errno_of(int nl_err) {
  switch (nl_err < 0 ? -nl_err : nl_err) {
    case NLE_EXIST:
      return EEXIST;
    case NLE_OBJ_NOTFOUND:
      return ENOENT;
    case NLE_NODEV:
      return ENODEV;
    case NLE_PERM:
      return EPERM;
    case NLE_NOACCESS:
      return EACCES;
    case NLE_INVAL:
      return EINVAL;
    case NLE_RANGE:
      return ERANGE;
    case NLE_BUSY:
      return EBUSY;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT:
      return EAFNOSUPPORT;
    case NLE_NOMEM:
      return ENOMEM;
    default:
      return EIO;
  }
}

struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrPut {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct RoutePut {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct NlAddrPut {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkPut>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrPut>;
using RoutePtr = std::unique_ptr<rtnl_route, RoutePut>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrPut>;
using CachePtr = std::unique_ptr<nl_cache, CacheFree>;

NlAddrPtr to_nl_addr(const IpAddress& addr, unsigned prefix_length) {
  NlAddrPtr out(nl_addr_build(addr.af(), addr.bytes.data(), addr.size()));
  if (out) nl_addr_set_prefixlen(out.get(), static_cast<int>(prefix_length));
  return out;
}

std::optional<IpAddress> from_nl_addr(nl_addr* a) {
  if (a == nullptr) return std::nullopt;
  IpAddress out;
  const int family = nl_addr_get_family(a);
  if (family == AF_INET) {
    out.family = Family::kIPv4;
  } else if (family == AF_INET6) {
    out.family = Family::kIPv6;
  } else {
    return std::nullopt;
  }
  const auto len = std::min<std::size_t>(nl_addr_get_len(a), out.size());
  std::memcpy(out.bytes.data(), nl_addr_get_binary_addr(a), len);  // len 0: the default route's ::/0
  return out;
}

LinkInfo to_link_info(rtnl_link* link) {
  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(link);
  if (const char* name = rtnl_link_get_name(link)) info.name = name;
  if (const char* kind = rtnl_link_get_type(link)) info.kind = kind;
  if (nl_addr* mac = rtnl_link_get_addr(link); mac != nullptr && nl_addr_get_len(mac) == 6) {
    std::memcpy(info.mac.bytes.data(), nl_addr_get_binary_addr(mac), 6);
  }
  info.mtu = rtnl_link_get_mtu(link);
  info.up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
  if (info.kind == "veth") {
    info.peer_ifindex = rtnl_link_get_link(link);
    std::int32_t netnsid = 0;
    info.peer_elsewhere = rtnl_link_get_link_netnsid(link, &netnsid) == 0;
  }
  return info;
}

}  // namespace

Result<void> validate_mtu(unsigned mtu) {
  if (mtu < kMinMtu || mtu > kMaxMtu) return make_error("invalid MTU {}: must be in {}..{}", mtu, kMinMtu, kMaxMtu);
  return ok();
}

struct Rtnl::KernelError {
  int sys_errno = 0;
  std::string message;
};

void Rtnl::SockDeleter::operator()(nl_sock* sock) const { nl_socket_free(sock); }

Result<Rtnl> Rtnl::open(const Namespace& ns) {
  struct Sockets {
    nl_sock* sock;
    int ioctl_fd;
  };
  auto made = ns.run([&]() -> Result<Sockets> {
    nl_sock* sock = nl_socket_alloc();
    if (sock == nullptr) return make_error("netns {}: cannot allocate a netlink socket", ns.path());
    if (const int err = nl_connect(sock, NETLINK_ROUTE); err < 0) {
      nl_socket_free(sock);
      return Error{fmt::format("netns {}: cannot open route netlink: {}", ns.path(), nl_geterror(err)), errno_of(err)};
    }
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      const int err = errno;
      nl_socket_free(sock);
      return make_sys_error(err, "netns {}: cannot open the ethtool ioctl socket", ns.path());
    }
    return Sockets{sock, fd};
  });
  if (!made) return made.error();
  nl_sock* sock = made->sock;
  // Ask for the kernel's extended-ACK text and capped ACKs; both are hints,
  // older kernels ignore them.
  const int one = 1;
  setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  return Rtnl(sock, made->ioctl_fd, "netns " + ns.path());
}

Rtnl::Rtnl(nl_sock* sock, int ioctl_fd, std::string where)
    : kernel_error_(std::make_unique<KernelError>()), sock_(sock), ioctl_fd_(ioctl_fd), where_(std::move(where)) {
  nl_socket_modify_err_cb(sock, NL_CB_CUSTOM, capture_kernel_error<KernelError>, kernel_error_.get());
}

Rtnl::Rtnl(Rtnl&& other) noexcept
    : kernel_error_(std::move(other.kernel_error_)),
      sock_(std::move(other.sock_)),
      ioctl_fd_(std::exchange(other.ioctl_fd_, -1)),
      where_(std::move(other.where_)) {}

Rtnl& Rtnl::operator=(Rtnl&& other) noexcept {
  if (this != &other) {
    if (ioctl_fd_ >= 0) ::close(ioctl_fd_);
    kernel_error_ = std::move(other.kernel_error_);
    sock_ = std::move(other.sock_);
    ioctl_fd_ = std::exchange(other.ioctl_fd_, -1);
    where_ = std::move(other.where_);
  }
  return *this;
}

Rtnl::~Rtnl() {
  if (ioctl_fd_ >= 0) ::close(ioctl_fd_);
}

void Rtnl::reset_kernel_error() {
  kernel_error_->sys_errno = 0;
  kernel_error_->message.clear();
}

Error Rtnl::nl_failure(int nl_err, std::string_view what) const {
  const int sys = kernel_error_->sys_errno != 0 ? kernel_error_->sys_errno : errno_of(nl_err);
  std::string reason = kernel_error_->sys_errno != 0
                           ? std::error_code(kernel_error_->sys_errno, std::generic_category()).message()
                           : std::string(nl_geterror(nl_err));
  if (!kernel_error_->message.empty()) reason += " (" + kernel_error_->message + ")";
  return Error{fmt::format("{}: {}: {}", where_, what, reason), sys};
}

Result<std::optional<LinkInfo>> Rtnl::find_link(std::string_view name) {
  if (auto valid = validate_ifname(name); !valid) return valid.error();
  reset_kernel_error();
  rtnl_link* raw = nullptr;
  const std::string n(name);
  const int err = rtnl_link_get_kernel(sock_.get(), 0, n.c_str(), &raw);
  LinkPtr link(raw);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return std::optional<LinkInfo>();
  if (err < 0) return nl_failure(err, fmt::format("look up link {}", name));
  return std::optional<LinkInfo>(to_link_info(link.get()));
}

Result<std::optional<LinkInfo>> Rtnl::find_link(int ifindex) {
  reset_kernel_error();
  rtnl_link* raw = nullptr;
  const int err = rtnl_link_get_kernel(sock_.get(), ifindex, nullptr, &raw);
  LinkPtr link(raw);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return std::optional<LinkInfo>();
  if (err < 0) return nl_failure(err, fmt::format("look up link #{}", ifindex));
  return std::optional<LinkInfo>(to_link_info(link.get()));
}

Result<LinkInfo> Rtnl::get_link(std::string_view name) {
  auto found = find_link(name);
  if (!found) return found.error();
  if (!found->has_value()) return Error{fmt::format("{}: no link named {}", where_, name), ENODEV};
  return std::move(**found);
}

Result<bool> Rtnl::link_exists(std::string_view name) {
  auto found = find_link(name);
  if (!found) return found.error();
  return found->has_value();
}

Result<std::vector<LinkInfo>> Rtnl::list_links() {
  reset_kernel_error();
  nl_cache* raw = nullptr;
  const int err = rtnl_link_alloc_cache(sock_.get(), AF_UNSPEC, &raw);
  CachePtr cache(raw);
  if (err < 0) return nl_failure(err, "list links");
  std::vector<LinkInfo> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    out.push_back(to_link_info(reinterpret_cast<rtnl_link*>(o)));
  }
  return out;
}

Result<int> Rtnl::ifindex_of(std::string_view name) {
  auto link = get_link(name);
  if (!link) return link.error();
  return link->ifindex;
}

Result<void> Rtnl::change_link(std::string_view name, const std::function<void(rtnl_link*)>& edit) {
  auto ifindex = ifindex_of(name);
  if (!ifindex) return ifindex.error();
  LinkPtr orig(rtnl_link_alloc());
  LinkPtr changes(rtnl_link_alloc());
  if (!orig || !changes) return make_error("{}: out of memory", where_);
  rtnl_link_set_ifindex(orig.get(), *ifindex);
  edit(changes.get());
  reset_kernel_error();
  if (const int err = rtnl_link_change(sock_.get(), orig.get(), changes.get(), 0); err < 0) {
    return nl_failure(err, fmt::format("change link {}", name));
  }
  return ok();
}

Result<void> Rtnl::set_up(std::string_view name, bool up) {
  return change_link(name, [up](rtnl_link* l) {
    if (up) {
      rtnl_link_set_flags(l, IFF_UP);
    } else {
      rtnl_link_unset_flags(l, IFF_UP);
    }
  });
}

Result<void> Rtnl::set_mtu(std::string_view name, unsigned mtu) {
  if (auto valid = validate_mtu(mtu); !valid) return valid.error();
  return change_link(name, [mtu](rtnl_link* l) { rtnl_link_set_mtu(l, mtu); });
}

Result<void> Rtnl::set_ipv6_addr_gen_none(std::string_view name) {
  auto r = change_link(name, [](rtnl_link* l) { rtnl_link_inet6_set_addr_gen_mode(l, IN6_ADDR_GEN_MODE_NONE); });
  if (!r && r.error().sys_errno == EAFNOSUPPORT) return ok();  // no IPv6 in this kernel
  return r;
}

Result<void> Rtnl::set_mac(std::string_view name, const MacAddress& mac) {
  if (mac.is_zero() || mac.is_multicast()) return make_error("invalid MAC address {} for {}", mac.to_string(), name);
  NlAddrPtr addr(nl_addr_build(AF_LLC, mac.bytes.data(), mac.bytes.size()));
  if (!addr) return make_error("{}: out of memory", where_);
  return change_link(name, [&](rtnl_link* l) { rtnl_link_set_addr(l, addr.get()); });
}

Result<void> Rtnl::rename(std::string_view name, std::string_view new_name) {
  if (auto valid = validate_ifname(new_name); !valid) return valid.error();
  const std::string n(new_name);
  return change_link(name, [&](rtnl_link* l) { rtnl_link_set_name(l, n.c_str()); });
}

Result<bool> Rtnl::delete_link(std::string_view name) {
  if (auto valid = validate_ifname(name); !valid) return valid.error();
  LinkPtr link(rtnl_link_alloc());
  if (!link) return make_error("{}: out of memory", where_);
  const std::string n(name);
  rtnl_link_set_name(link.get(), n.c_str());
  reset_kernel_error();
  const int err = rtnl_link_delete(sock_.get(), link.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) return nl_failure(err, fmt::format("delete link {}", name));
  return true;
}

Result<void> Rtnl::create_veth(const VethPairSpec& spec) {
  if (auto valid = validate_ifname(spec.name); !valid) return valid.error();
  if (auto valid = validate_ifname(spec.peer_name); !valid) return valid.error();
  if (auto valid = validate_mtu(spec.mtu); !valid) return valid.error();
  LinkPtr link(rtnl_link_veth_alloc());
  if (!link) return make_error("{}: out of memory", where_);
  // get_peer takes a reference; the pair itself is freed with `link`.
  LinkPtr peer(rtnl_link_veth_get_peer(link.get()));
  rtnl_link_set_name(link.get(), spec.name.c_str());
  rtnl_link_set_mtu(link.get(), spec.mtu);
  rtnl_link_set_name(peer.get(), spec.peer_name.c_str());
  rtnl_link_set_mtu(peer.get(), spec.mtu);
  NlAddrPtr mac;
  if (spec.peer_mac) {
    mac.reset(nl_addr_build(AF_LLC, spec.peer_mac->bytes.data(), spec.peer_mac->bytes.size()));
    if (!mac) return make_error("{}: out of memory", where_);
    rtnl_link_set_addr(peer.get(), mac.get());
  }
  // IFLA_NET_NS_FD on the peer: the kernel creates that end directly in the
  // target namespace, in the same request, so no half-moved state exists.
  if (spec.peer_netns != nullptr) rtnl_link_set_ns_fd(peer.get(), spec.peer_netns->fd());
  peer.reset();
  reset_kernel_error();
  if (const int err = rtnl_link_add(sock_.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return nl_failure(err, fmt::format("create veth pair {}/{}", spec.name, spec.peer_name));
  }
  return ok();
}

Result<void> Rtnl::set_tx_checksum(std::string_view name, bool on) {
  if (auto valid = validate_ifname(name); !valid) return valid.error();
  ethtool_value value{};
  value.cmd = ETHTOOL_STXCSUM;
  value.data = on ? 1 : 0;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  if (ioctl(ioctl_fd_, SIOCETHTOOL, &ifr) != 0) {
    return make_sys_error(errno, "{}: set TX checksum offload {} on {}", where_, on ? "on" : "off", name);
  }
  return ok();
}

Result<bool> Rtnl::tx_checksum(std::string_view name) {
  if (auto valid = validate_ifname(name); !valid) return valid.error();
  ethtool_value value{};
  value.cmd = ETHTOOL_GTXCSUM;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  if (ioctl(ioctl_fd_, SIOCETHTOOL, &ifr) != 0) {
    return make_sys_error(errno, "{}: read TX checksum offload of {}", where_, name);
  }
  return value.data != 0;
}

Result<void> Rtnl::add_address(int ifindex, const IpPrefix& address, bool nodad) {
  if (auto valid = validate_interface_address(address); !valid) return valid.error();
  AddrPtr addr(rtnl_addr_alloc());
  NlAddrPtr local = to_nl_addr(address.address, address.prefix_length);
  if (!addr || !local) return make_error("{}: out of memory", where_);
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), address.address.af());
  if (const int err = rtnl_addr_set_local(addr.get(), local.get()); err < 0) {
    return nl_failure(err, fmt::format("address {}", address.to_string()));
  }
  rtnl_addr_set_prefixlen(addr.get(), static_cast<int>(address.prefix_length));
  if (nodad && address.address.family == Family::kIPv6) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  reset_kernel_error();
  const int err = rtnl_addr_add(sock_.get(), addr.get(), NLM_F_EXCL);
  if (err == -NLE_EXIST) {
    // The kernel matches IPv4 addresses on address+mask, IPv6 on address
    // alone: make sure what is there is what we asked for.
    auto have = addresses(ifindex);
    if (!have) return have.error();
    if (std::find(have->begin(), have->end(), address) != have->end()) return ok();
  }
  if (err < 0) return nl_failure(err, fmt::format("add address {} to link #{}", address.to_string(), ifindex));
  return ok();
}

Result<std::vector<IpPrefix>> Rtnl::addresses(int ifindex) {
  reset_kernel_error();
  nl_cache* raw = nullptr;
  const int err = rtnl_addr_alloc_cache(sock_.get(), &raw);
  CachePtr cache(raw);
  if (err < 0) return nl_failure(err, "list addresses");
  std::vector<IpPrefix> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != ifindex) continue;
    auto ip = from_nl_addr(rtnl_addr_get_local(a));
    if (!ip || ip->is_ipv6_link_local()) continue;
    out.push_back(IpPrefix{*ip, static_cast<unsigned>(rtnl_addr_get_prefixlen(a))});
  }
  return out;
}

Result<void> Rtnl::add_route(int ifindex, const Route& route) {
  const IpPrefix dst = route.destination.network();
  if (route.next_hop) {
    if (route.next_hop->family != dst.address.family) {
      return make_error("route {} via {}: address families differ", dst.to_string(), route.next_hop->to_string());
    }
    if (auto valid = validate_gateway(*route.next_hop); !valid) return valid.error();
  }
  RoutePtr r(rtnl_route_alloc());
  NlAddrPtr dst_addr = to_nl_addr(dst.address, dst.prefix_length);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!r || !dst_addr || nh == nullptr) {
    if (nh != nullptr) rtnl_route_nh_free(nh);
    return make_error("{}: out of memory", where_);
  }
  rtnl_route_set_family(r.get(), static_cast<std::uint8_t>(dst.address.af()));
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(r.get(), RTPROT_STATIC);
  rtnl_route_set_type(r.get(), RTN_UNICAST);
  rtnl_route_set_scope(r.get(), route.next_hop ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  rtnl_route_set_dst(r.get(), dst_addr.get());
  rtnl_route_nh_set_ifindex(nh, ifindex);
  NlAddrPtr gw;
  if (route.next_hop) {
    gw = to_nl_addr(*route.next_hop, route.next_hop->size() * 8);
    if (!gw) {
      rtnl_route_nh_free(nh);
      return make_error("{}: out of memory", where_);
    }
    rtnl_route_nh_set_gateway(nh, gw.get());
  }
  rtnl_route_add_nexthop(r.get(), nh);  // the route owns nh from here
  reset_kernel_error();
  const std::string text = route.next_hop ? fmt::format("{} via {}", dst.to_string(), route.next_hop->to_string())
                                          : fmt::format("{} dev #{}", dst.to_string(), ifindex);
  const int err = rtnl_route_add(sock_.get(), r.get(), NLM_F_EXCL);
  if (err == -NLE_EXIST) {
    auto have = routes(ifindex);
    if (!have) return have.error();
    const Route wanted{dst, route.next_hop};
    if (std::find(have->begin(), have->end(), wanted) != have->end()) return ok();
    return Error{fmt::format("{}: add route {}: a different route to {} already exists", where_, text, dst.to_string()),
                 EEXIST};
  }
  if (err < 0) return nl_failure(err, fmt::format("add route {}", text));
  return ok();
}

Result<std::vector<Route>> Rtnl::routes(int ifindex) {
  reset_kernel_error();
  nl_cache* raw = nullptr;
  const int err = rtnl_route_alloc_cache(sock_.get(), AF_UNSPEC, 0, &raw);
  CachePtr cache(raw);
  if (err < 0) return nl_failure(err, "list routes");
  std::vector<Route> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST) continue;
    if (rtnl_route_get_protocol(r) == RTPROT_KERNEL) continue;  // prefix routes of addresses
    if (rtnl_route_get_nnexthops(r) != 1) continue;
    rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
    if (rtnl_route_nh_get_ifindex(nh) != ifindex) continue;
    nl_addr* dst_raw = rtnl_route_get_dst(r);
    auto dst = from_nl_addr(dst_raw);
    if (!dst || dst->is_ipv6_link_local() || dst->is_multicast()) continue;
    Route route{IpPrefix{*dst, static_cast<unsigned>(nl_addr_get_prefixlen(dst_raw))}, std::nullopt};
    if (auto gw = from_nl_addr(rtnl_route_nh_get_gateway(nh))) route.next_hop = *gw;
    out.push_back(route);
  }
  return out;
}

Result<Rtnl> open_rtnl(std::string_view netns_path) {
  auto ns = netns_path.empty() ? Namespace::current() : Namespace::open(netns_path);
  if (!ns) return ns.error();
  return Rtnl::open(*ns);
}

}  // namespace ferry::netns
