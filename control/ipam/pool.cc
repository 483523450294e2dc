#include "control/ipam/pool.h"

#include <fmt/format.h>

namespace ferry::ipam {

std::string format_ipv4(Ipv4 ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

bool valid_name(std::string_view name, std::size_t max_size) {
  if (name.empty() || name.size() > max_size) return false;
  for (const char c : name) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

Result<PoolSpec> PoolSpec::make(std::string name, Ipv4 subnet, std::uint32_t prefix_len, std::string genesis,
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

std::uint32_t PoolSpec::usable_in(std::uint32_t block) const {
  std::uint32_t n = block_size;
  const Ipv4 first = block_first(block);
  for (const Ipv4 r : {subnet, subnet + 1, subnet + size() - 1}) {
    if (r - first < block_size) --n;
  }
  return n;
}

std::string PoolSpec::cidr() const { return fmt::format("{}/{}", format_ipv4(subnet), prefix_len); }

Result<void> PoolSpec::validate(std::uint32_t max_blocks, std::size_t max_name_size) const {
  if (!valid_name(name, max_name_size)) return make_error("bad pool name");
  if (prefix_len < 8 || prefix_len > 30) return make_error("pool {}: prefix /{} outside /8../30", name, prefix_len);
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
