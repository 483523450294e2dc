// Which kernel interfaces may become endpoint (container) ports. An endpoint
// port hands every frame of its interface to the overlay, so it must be a
// dedicated link: `port add` refuses the uplink, loopback, an interface
// that carries IP addresses (the host uses it: a management or underlay
// interface) and one enslaved to a master (a bridge, bond or VRF already
// switches its frames). The rules are a pure function of what the kernel
// says about the interface, so they are tested without one.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace ferry::dataplane::app {

// What the kernel says about an interface, as far as the rules need.
struct InterfaceFacts {
  std::string name;
  unsigned ifindex = 0;
  bool loopback = false;               // IFF_LOOPBACK
  std::string master;                  // the bridge/bond/VRF it is enslaved to, "" when none
  std::vector<std::string> addresses;  // IPv4 and IPv6 addresses, IPv6 link-local ones left out
};

// Reads the facts of `iface` in this network namespace (sysfs flags and
// master link, getifaddrs). An error with code kNotFound when there is no
// such interface.
Result<InterfaceFacts> read_interface_facts(const std::string& iface);

// Why `facts` cannot be an endpoint port (a sentence naming the interface
// and the reason), or "" when it can. `uplink_ifindex`: the uplink's, 0 when
// the uplink is no kernel interface here.
std::string endpoint_refusal(const InterfaceFacts& facts, unsigned uplink_ifindex);

// The check `port add` runs: ok, or an error (code kInvalid) saying why
// `iface` is unfit. An interface that does not exist passes: attaching it
// fails with "does not exist". `uplink`: --uplink (a PCI address is no
// kernel interface and matches nothing).
Result<void> check_endpoint_interface(const std::string& iface, const std::string& uplink);

}  // namespace ferry::dataplane::app
