#include "netns/naming.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace ferry::netns {

Result<void> validate_ifname(std::string_view name) {
  if (name.empty()) return make_error("invalid interface name: empty");
  if (name.size() > kMaxIfnameLength) {
    return make_error("invalid interface name '{}': {} characters, the kernel allows at most {}", name, name.size(),
                      kMaxIfnameLength);
  }
  if (name == "." || name == "..") return make_error("invalid interface name '{}'", name);
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || std::isspace(u) != 0 || std::isprint(u) == 0) {
      return make_error("invalid interface name '{}': '/', ':', spaces and control characters are not allowed", name);
    }
  }
  return ok();
}

std::uint64_t endpoint_hash(std::string_view endpoint_id) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  for (const char c : endpoint_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;  // FNV-1a 64 prime
  }
  // FNV's low bits mix poorly for short, similar inputs; finish with the
  // splitmix64 finaliser so every output bit depends on every input bit.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::string derive_host_ifname(std::string_view endpoint_id) {
  return fmt::format("fy{:012x}", endpoint_hash(endpoint_id) >> 16);
}

std::string derive_peer_ifname(std::string_view endpoint_id) {
  return fmt::format("fc{:012x}", endpoint_hash(endpoint_id) >> 16);
}

MacAddress derive_mac(std::string_view endpoint_id) {
  const std::uint64_t h = endpoint_hash(endpoint_id);
  MacAddress mac;
  mac.bytes[0] = 0x02;  // locally administered, unicast
  for (int i = 1; i < 6; ++i) mac.bytes[i] = static_cast<std::uint8_t>(h >> (8 * (i - 1)));
  return mac;
}

MacAddress derive_mac(std::string_view network, const IpAddress& ip) {
  MacAddress mac;
  mac.bytes[0] = 0x02;  // locally administered, unicast
  mac.bytes[1] = static_cast<std::uint8_t>(endpoint_hash(network));
  const std::size_t from = ip.family == ferry::Family::kIPv4 ? 0 : 12;
  for (std::size_t i = 0; i < 4; ++i) mac.bytes[2 + i] = ip.bytes[from + i];
  return mac;
}

Result<void> validate_endpoint_id(std::string_view endpoint_id) {
  if (endpoint_id.empty()) return make_error("invalid endpoint ID: empty");
  if (endpoint_id.size() > 256) return make_error("invalid endpoint ID: {} bytes, at most 256", endpoint_id.size());
  const bool printable = std::all_of(endpoint_id.begin(), endpoint_id.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x21 && u < 0x7f;
  });
  if (!printable) return make_error("invalid endpoint ID '{}': only printable ASCII without spaces", endpoint_id);
  return ok();
}

}  // namespace ferry::netns
