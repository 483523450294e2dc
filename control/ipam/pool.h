// PoolSpec: one address pool (an IPv4 subnet) cut into equal blocks, the unit
// of ownership. Addresses are IPv4 in host byte order (10.0.0.1 == 0x0a000001).
// The network address, the first host address (the gateway) and the
// broadcast address are never allocated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ferry::ipam {

using Ipv4 = std::uint32_t;

std::string format_ipv4(Ipv4 ip);

struct PoolSpec {
  std::string name;
  Ipv4 subnet = 0;                // host bits zero
  std::uint32_t prefix_len = 24;  // 8..30
  std::uint32_t block_size = 1;   // addresses per block, a power of two
  std::string genesis;            // owns every block at version 0

  // Chooses the block size: the smallest power of two that cuts the subnet
  // into at most max_blocks blocks. Host bits of `subnet` must be zero.
  static Result<PoolSpec> make(std::string name, Ipv4 subnet, std::uint32_t prefix_len, std::string genesis,
                               std::uint32_t max_blocks);

  [[nodiscard]] std::uint32_t size() const { return 1U << (32 - prefix_len); }
  [[nodiscard]] std::uint32_t num_blocks() const { return size() / block_size; }
  [[nodiscard]] bool contains(Ipv4 ip) const { return ip - subnet < size(); }
  [[nodiscard]] std::uint32_t block_of(Ipv4 ip) const { return (ip - subnet) / block_size; }
  [[nodiscard]] Ipv4 block_first(std::uint32_t block) const { return subnet + block * block_size; }
  [[nodiscard]] bool reserved(Ipv4 ip) const { return ip == subnet || ip == subnet + 1 || ip == subnet + size() - 1; }
  // Addresses of `block` that may be allocated (block_size minus reserved).
  [[nodiscard]] std::uint32_t usable_in(std::uint32_t block) const;
  [[nodiscard]] std::string cidr() const;

  // Everything a peer's copy must satisfy; max_blocks/max_name bound it.
  [[nodiscard]] Result<void> validate(std::uint32_t max_blocks, std::size_t max_name_size) const;
  bool operator==(const PoolSpec&) const = default;
};

// A host or pool name as accepted from the wire: 1..max bytes, printable
// ASCII without spaces (they end up in logs and errors).
bool valid_name(std::string_view name, std::size_t max_size);

}  // namespace ferry::ipam
