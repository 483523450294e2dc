#include "control/ipam/pool.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/ip_address.h"

namespace ferry::ipam {

namespace {

Addr low32(const Ipv6Bytes& a) { return (Addr{a[12]} << 24) | (Addr{a[13]} << 16) | (Addr{a[14]} << 8) | Addr{a[15]}; }

// Every bit of `a` from bit `len` on (counted from the top) is zero.
bool host_bits_zero(const Ipv6Bytes& a, std::uint32_t len) {
  const IpPrefix p{IpAddress{Family::kIPv6, a}, len};
  return p.network().address == p.address;
}

// Reserved for other uses or unassignable: IPv4-compatible and -mapped
// addresses, loopback, unspecified (::/80) and multicast (ff00::/8).
bool special_v6(const Ipv6Bytes& a) {
  return std::all_of(a.begin(), a.begin() + 10, [](std::uint8_t b) { return b == 0; }) || a[0] == 0xff;
}

std::uint32_t window_bits(std::uint32_t prefix6) { return std::min(128 - prefix6, kMaxWindowBits); }

std::string format_v6(const Ipv6Bytes& a) { return IpAddress{Family::kIPv6, a}.to_string(); }

Addr host_order_v4(const IpAddress& a) {
  return (Addr{a.bytes[0]} << 24) | (Addr{a.bytes[1]} << 16) | (Addr{a.bytes[2]} << 8) | Addr{a.bytes[3]};
}

}  // namespace

std::string format_ipv4(Addr ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

bool valid_name(std::string_view name, std::size_t max_size) {
  if (name.empty() || name.size() > max_size) return false;
  for (const char c : name) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

Result<PoolSpec> PoolSpec::make(std::string name, Addr subnet, std::uint32_t prefix_len, std::string genesis,
                                std::uint32_t max_blocks) {
  if (prefix_len < 8 || prefix_len > 30) return make_error("pool {}: prefix /{} outside /8../30", name, prefix_len);
  if (max_blocks == 0) return make_error("pool {}: max_blocks must be > 0", name);
  PoolSpec spec;
  spec.name = std::move(name);
  spec.subnet = subnet;
  spec.prefix_len = prefix_len;
  spec.genesis = std::move(genesis);
  spec.block_size = 1;
  while (spec.size() / spec.block_size > max_blocks) spec.block_size *= 2;
  if (auto v = spec.validate(max_blocks, 1024); !v) return v.error();
  return spec;
}

Result<PoolSpec> PoolSpec::make(std::string name, std::string_view cidr, std::string genesis,
                                std::uint32_t max_blocks) {
  auto prefix = parse_prefix(cidr);
  if (!prefix) return make_error("pool {}: {}", name, prefix.error().message);
  const std::uint32_t len = prefix->prefix_length;
  if (prefix->address.family == Family::kIPv4) {
    return make(std::move(name), host_order_v4(prefix->address), len, std::move(genesis), max_blocks);
  }
  Ipv6Bytes net = prefix->address.bytes;
  if (len < 1 || len > 126) {
    return make_error("pool {}: IPv6 prefix /{} outside /1../126 (a pool needs at least 4 addresses)", name, len);
  }
  if (!host_bits_zero(net, len)) return make_error("pool {}: {} has host bits set", name, cidr);
  if (special_v6(net)) {
    return make_error("pool {}: {} is in ::/80 (IPv4-mapped, -compatible, loopback) or multicast: not a pool", name,
                      cidr);
  }
  if (max_blocks == 0) return make_error("pool {}: max_blocks must be > 0", name);
  PoolSpec spec;
  spec.name = std::move(name);
  spec.net6 = net;
  spec.prefix6 = len;
  spec.subnet = low32(net);
  spec.prefix_len = 32 - window_bits(len);
  spec.genesis = std::move(genesis);
  spec.block_size = 1;
  while (spec.size() / spec.block_size > max_blocks) spec.block_size *= 2;
  if (auto v = spec.validate(max_blocks, 1024); !v) return v.error();
  return spec;
}

std::uint32_t PoolSpec::usable_in(std::uint32_t block) const {
  std::uint32_t n = block_size;
  const Addr first = block_first(block);
  for (const Addr r : {subnet, subnet + 1, subnet + size() - 1}) {
    if (r - first < block_size) --n;
  }
  return n;
}

Ipv6Bytes PoolSpec::v6_address(Addr ip) const {
  Ipv6Bytes a = net6;
  a[12] = static_cast<std::uint8_t>(ip >> 24);
  a[13] = static_cast<std::uint8_t>(ip >> 16);
  a[14] = static_cast<std::uint8_t>(ip >> 8);
  a[15] = static_cast<std::uint8_t>(ip);
  return a;
}

std::string PoolSpec::format(Addr ip) const { return is_v6() ? format_v6(v6_address(ip)) : format_ipv4(ip); }

std::string PoolSpec::cidr() const {
  return is_v6() ? fmt::format("{}/{}", format_v6(net6), prefix6)
                 : fmt::format("{}/{}", format_ipv4(subnet), prefix_len);
}

std::string PoolSpec::window() const { return fmt::format("{}-{}", format(subnet), format(subnet + size() - 1)); }

Result<Addr> PoolSpec::parse(std::string_view address) const {
  if (address.find('/') != std::string_view::npos) {
    return make_error("'{}': expected an address of pool {} without a prefix length", address, name);
  }
  auto parsed = parse_ip(address);
  const Family want = is_v6() ? Family::kIPv6 : Family::kIPv4;
  if (!parsed || parsed->family != want) {
    return make_error("'{}' is not an {} address (pool {} is {})", address, is_v6() ? "IPv6" : "IPv4", name, cidr());
  }
  return addr_of(*parsed);
}

Result<Addr> PoolSpec::addr_of(const IpAddress& address) const {
  const Family want = is_v6() ? Family::kIPv6 : Family::kIPv4;
  if (address.family != want) {
    return make_error("'{}' is not an {} address (pool {} is {})", address.to_string(), is_v6() ? "IPv6" : "IPv4", name,
                      cidr());
  }
  Addr ip = 0;
  if (!is_v6()) {
    ip = host_order_v4(address);
    if (!contains(ip)) return make_error("address {} is outside pool {} ({})", address.to_string(), name, cidr());
    return ip;
  }
  const Ipv6Bytes& a = address.bytes;
  ip = low32(a);
  if (!std::equal(a.begin(), a.begin() + 12, net6.begin()) || !contains(ip)) {
    return make_error("address {} is outside the addresses pool {} manages ({}: the first {} of {})",
                      address.to_string(), name, window(), size(), cidr());
  }
  return ip;
}

IpAddress PoolSpec::ip_of(Addr ip) const {
  if (is_v6()) return IpAddress{Family::kIPv6, v6_address(ip)};
  IpAddress out;
  out.bytes[0] = static_cast<std::uint8_t>(ip >> 24);
  out.bytes[1] = static_cast<std::uint8_t>(ip >> 16);
  out.bytes[2] = static_cast<std::uint8_t>(ip >> 8);
  out.bytes[3] = static_cast<std::uint8_t>(ip);
  return out;
}

IpPrefix PoolSpec::prefix() const {
  if (is_v6()) return IpPrefix{IpAddress{Family::kIPv6, net6}, prefix6};
  return IpPrefix{ip_of(subnet), prefix_len};
}

Result<void> PoolSpec::validate(std::uint32_t max_blocks, std::size_t max_name_size) const {
  if (!valid_name(name, max_name_size)) return make_error("bad pool name");
  if (prefix_len < 8 || prefix_len > 30) return make_error("pool {}: prefix /{} outside /8../30", name, prefix_len);
  if (is_v6()) {
    if (prefix6 > 126) return make_error("pool {}: IPv6 prefix /{} outside /1../126", name, prefix6);
    if (prefix_len != 32 - window_bits(prefix6)) {
      return make_error("pool {}: window /{} does not match IPv6 prefix /{}", name, prefix_len, prefix6);
    }
    if (!host_bits_zero(net6, prefix6)) return make_error("pool {}: IPv6 network has host bits set", name);
    if (special_v6(net6)) return make_error("pool {}: IPv6 network in ::/80 or multicast", name);
    if (subnet != low32(net6)) return make_error("pool {}: window start differs from the IPv6 network", name);
  } else if (std::any_of(net6.begin(), net6.end(), [](std::uint8_t b) { return b != 0; })) {
    return make_error("pool {}: IPv4 pool with an IPv6 network", name);
  }
  if ((subnet & (size() - 1)) != 0) return make_error("pool {}: {} has host bits set", name, cidr());
  if (block_size == 0 || (block_size & (block_size - 1)) != 0 || block_size > size()) {
    return make_error("pool {}: block size {} is not a power of two within the subnet", name, block_size);
  }
  if (num_blocks() > max_blocks) {
    return make_error("pool {}: {} blocks exceed the limit of {}", name, num_blocks(), max_blocks);
  }
  if (!valid_name(genesis, 255)) return make_error("pool {}: bad genesis host name", name);
  return ok();
}

}  // namespace ferry::ipam
