// VXLAN encapsulation: the inner flow hash behind the outer UDP source port
// (the per-frame encapsulation itself is inline, in encap.h).
#include "dataplane/core/encap.h"

#include <rte_hash_crc.h>

#include <cstring>

namespace ferry::dataplane {

using namespace wire;

std::uint32_t inner_flow_hash(const std::uint8_t* f, std::uint32_t len) {
  const std::uint16_t type = load_be16(f + 12);
  std::uint32_t h;
  if (type == kEtherIpv4 && len >= kEthSize + 20) {
    const std::uint8_t* ip = f + kEthSize;
    std::uint64_t addrs;
    std::memcpy(&addrs, ip + 12, 8);
    h = rte_hash_crc_8byte(addrs, ip[9]);
    const std::uint32_t ihl = (ip[0] & 0x0fu) * 4;
    const bool first_fragment = (load_be16(ip + 6) & 0x1fff) == 0;
    if ((ip[9] == 6 || ip[9] == 17 || ip[9] == 132) && first_fragment && ihl >= 20 && len >= kEthSize + ihl + 4) {
      h = rte_hash_crc_4byte(load_u32(ip + ihl), h);
    }
  } else if (type == kEtherIpv6 && len >= kEthSize + 40) {
    const std::uint8_t* ip = f + kEthSize;
    std::uint64_t w[4];
    std::memcpy(w, ip + 8, 32);
    h = rte_hash_crc_8byte(w[0], ip[6]);
    h = rte_hash_crc_8byte(w[1], h);
    h = rte_hash_crc_8byte(w[2], h);
    h = rte_hash_crc_8byte(w[3], h);
    if ((ip[6] == 6 || ip[6] == 17) && len >= kEthSize + 44) h = rte_hash_crc_4byte(load_u32(ip + 40), h);
  } else {
    std::uint64_t macs[2] = {0, 0};
    std::memcpy(macs, f, 12);
    h = rte_hash_crc_8byte(macs[0], type);
    h = rte_hash_crc_4byte(static_cast<std::uint32_t>(macs[1]), h);
  }
  // CRC32-C mixes its input well; fold to spread it over the high bits too.
  return h ^ (h >> 16) * 0x45d9f3bu;
}

}  // namespace ferry::dataplane
