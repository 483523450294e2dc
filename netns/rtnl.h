// Rtnl: a route-netlink session bound to one network namespace, with the link,
// address and route operations the rest of Ferry needs (libnl underneath),
// plus the ethtool ioctl for TX checksum offload.
//
// Its sockets are created inside the namespace on a dedicated thread
// (Namespace::run) and keep that namespace for life, so an Rtnl is used from
// the caller's own thread. One Rtnl per thread: it is not thread-safe.
//
//   auto ns = Namespace::open("/var/run/netns/h1");
//   auto rt = Rtnl::open(*ns);
//   rt->set_up("ul0", true);
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "netns/address.h"
#include "netns/namespace.h"
#include "netns/naming.h"

struct nl_sock;
struct rtnl_link;

namespace ferry::netns {

// veth MTU range: the kernel's minimum for Ethernet-like devices (68, the
// IPv4 minimum) and veth's maximum (ETH_MAX_MTU).
inline constexpr unsigned kMinMtu = 68;
inline constexpr unsigned kMaxMtu = 65535;
// IPv6 needs at least this MTU (RFC 8200); the kernel drops IPv6 below it.
inline constexpr unsigned kMinIpv6Mtu = 1280;

Result<void> validate_mtu(unsigned mtu);

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  std::string kind;  // "veth", "bridge", "" for a plain device
  MacAddress mac;
  unsigned mtu = 0;
  bool up = false;              // administratively up (IFF_UP)
  int peer_ifindex = 0;         // veth: the other end's ifindex (IFLA_LINK), in its own namespace
  bool peer_elsewhere = false;  // veth: the other end lives in another namespace
};

// A route through one interface: `destination` via `next_hop`, or directly
// connected (scope link) when there is no next hop. Main table only.
struct Route {
  IpPrefix destination;
  std::optional<IpAddress> next_hop;
  friend bool operator==(const Route&, const Route&) = default;
};

// What to create with Rtnl::create_veth.
struct VethPairSpec {
  std::string name;                       // the end created in this Rtnl's namespace
  std::string peer_name;                  // the other end, created directly in `peer_netns`
  const Namespace* peer_netns = nullptr;  // nullptr: same namespace as `name`
  std::optional<MacAddress> peer_mac;     // unset: kernel picks a random one
  unsigned mtu = 1500;                    // both ends
};

class Rtnl {
 public:
  // Opens the netlink and ioctl sockets inside `ns`.
  static Result<Rtnl> open(const Namespace& ns);

  Rtnl(Rtnl&&) noexcept;
  Rtnl& operator=(Rtnl&&) noexcept;
  ~Rtnl();

  // The namespace this Rtnl works in, for messages ("netns /var/run/netns/h1").
  [[nodiscard]] const std::string& where() const { return where_; }

  // Links. find_link returns nullopt when no such link exists; get_link
  // turns that into an error naming the link and namespace.
  Result<std::optional<LinkInfo>> find_link(std::string_view name);
  Result<std::optional<LinkInfo>> find_link(int ifindex);
  Result<LinkInfo> get_link(std::string_view name);
  Result<bool> link_exists(std::string_view name);
  Result<std::vector<LinkInfo>> list_links();

  Result<void> set_up(std::string_view name, bool up);
  Result<void> set_mtu(std::string_view name, unsigned mtu);
  Result<void> set_mac(std::string_view name, const MacAddress& mac);
  Result<void> rename(std::string_view name, std::string_view new_name);
  // Deletes a link (for a veth, both ends). Returns false when it did not
  // exist: deleting is idempotent.
  Result<bool> delete_link(std::string_view name);

  // Creates a veth pair in one RTM_NEWLINK (NLM_F_EXCL): either both ends
  // exist afterwards, configured, or nothing does. Both ends start down.
  Result<void> create_veth(const VethPairSpec& spec);

  // TX checksum offload (ethtool -K NAME tx on|off) through SIOCETHTOOL.
  Result<void> set_tx_checksum(std::string_view name, bool on);
  // No IPv6 link-local address generation on `name` (addrgenmode none), so
  // the kernel sends nothing from it (router solicitations, MLD reports)
  // when it comes up: for a data-plane port that is pure L2. Fine (a no-op)
  // on a kernel without IPv6. Set it before the link goes up.
  Result<void> set_ipv6_addr_gen_none(std::string_view name);
  Result<bool> tx_checksum(std::string_view name);

  // Addresses. IPv6 ones are added with IFA_F_NODAD when `nodad` (usable at
  // once; the container's address is ours to hand out). Adding an address
  // that is already there is not an error.
  Result<void> add_address(int ifindex, const IpPrefix& address, bool nodad = true);
  // The interface's addresses, IPv6 link-local ones left out.
  Result<std::vector<IpPrefix>> addresses(int ifindex);

  // Routes through `ifindex` in the main table. Adding one that already
  // exists (same destination and next hop) is not an error; a different
  // route to the same destination is.
  Result<void> add_route(int ifindex, const Route& route);
  // Routes we could have added: main table, unicast, not the kernel's own
  // prefix routes, IPv6 link-local and multicast ones left out.
  Result<std::vector<Route>> routes(int ifindex);

 private:
  struct KernelError;
  Rtnl(nl_sock* sock, int ioctl_fd, std::string where);
  Result<int> ifindex_of(std::string_view name);
  Result<void> change_link(std::string_view name, const std::function<void(rtnl_link*)>& edit);
  // Builds the error for a failed libnl call: the kernel's errno and
  // extended-ACK text when it sent them, libnl's text otherwise.
  [[nodiscard]] Error nl_failure(int nl_err, std::string_view what) const;
  void reset_kernel_error();

  struct SockDeleter {
    void operator()(nl_sock* sock) const;
  };
  // Heap-allocated so its address, registered with the socket's error
  // callback, survives moves of the Rtnl.
  std::unique_ptr<KernelError> kernel_error_;
  std::unique_ptr<nl_sock, SockDeleter> sock_;
  int ioctl_fd_ = -1;
  std::string where_;
};

// Convenience for callers that hold only a path: opens the namespace and an
// Rtnl in it ("" = the calling thread's namespace).
Result<Rtnl> open_rtnl(std::string_view netns_path);

}  // namespace ferry::netns
