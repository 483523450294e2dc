#include "dataplane/app/endpoint_iface.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <filesystem>
#include <fstream>
#include <string_view>

#include "common/printable.h"

namespace ferry::dataplane::app {
namespace {

// An address label ("eth0", "eth0:1") belongs to `iface`.
bool label_of(std::string_view label, std::string_view iface) {
  return label == iface ||
         (label.size() > iface.size() && label.substr(0, iface.size()) == iface && label[iface.size()] == ':');
}

std::vector<std::string> addresses_of(const std::string& iface) {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return out;
  }
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_name == nullptr || !label_of(a->ifa_name, iface)) {
      continue;
    }
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) {
        continue;  // every IPv6 link has one; it says nothing about its use
      }
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    } else {
      continue;
    }
    out.emplace_back(text);
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

Result<InterfaceFacts> read_interface_facts(const std::string& iface) {
  InterfaceFacts facts;
  facts.name = iface;
  facts.ifindex = if_nametoindex(iface.c_str());
  if (facts.ifindex == 0) {
    return make_error("interface '{}' does not exist in this network namespace", log::printable(iface))
        .with_code(ErrorCode::kNotFound);
  }
  const std::filesystem::path sys = std::filesystem::path("/sys/class/net") / iface;
  std::ifstream flags_file(sys / "flags");
  unsigned long flags = 0;
  if (flags_file >> std::hex >> flags) {
    facts.loopback = (flags & IFF_LOOPBACK) != 0;
  }
  std::error_code ec;
  const auto master = std::filesystem::read_symlink(sys / "master", ec);
  if (!ec) {
    facts.master = master.filename().string();
  }
  facts.addresses = addresses_of(iface);
  return facts;
}

std::string endpoint_refusal(const InterfaceFacts& facts, unsigned uplink_ifindex) {
  if (uplink_ifindex != 0 && facts.ifindex == uplink_ifindex) {
    return fmt::format("{} is the uplink: an endpoint port needs a container's own veth end", facts.name);
  }
  if (facts.loopback) {
    return fmt::format("{} is a loopback interface: an endpoint port needs a container's own veth end", facts.name);
  }
  if (!facts.master.empty()) {
    return fmt::format(
        "{} is enslaved to {} (a bridge, bond or VRF switches its frames): release it first (ip link "
        "set {} nomaster)",
        facts.name, facts.master, facts.name);
  }
  if (!facts.addresses.empty()) {
    std::string list;
    for (std::size_t i = 0; i < facts.addresses.size() && i < 3; ++i) {
      list += (i == 0 ? "" : ", ") + facts.addresses[i];
    }
    if (facts.addresses.size() > 3) {
      list += fmt::format(" and {} more", facts.addresses.size() - 3);
    }
    return fmt::format(
        "{} carries IP addresses ({}): the host uses it; an endpoint port needs a dedicated link "
        "without addresses",
        facts.name, list);
  }
  return "";
}

Result<void> check_endpoint_interface(const std::string& iface, const std::string& uplink) {
  auto facts = read_interface_facts(iface);
  if (!facts) {
    if (facts.error().code == ErrorCode::kNotFound) {
      return ok();  // attaching says so
    }
    return facts.error();
  }
  const unsigned uplink_ifindex = uplink.empty() ? 0 : if_nametoindex(uplink.c_str());
  if (auto why = endpoint_refusal(*facts, uplink_ifindex); !why.empty()) {
    return make_error("{}", why).with_code(ErrorCode::kInvalid);
  }
  return ok();
}

}  // namespace ferry::dataplane::app
