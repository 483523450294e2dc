// Ethernet MAC addresses: the one type every module uses (the data plane's
// tables and packet path, its API, netns, the Docker plugin, gossip records,
// the traffic generator). Six bytes in wire order, trivially copyable, with
// the 48-bit integer form the data plane's hash tables key on. Text is six
// hex pairs; bad text is an error, never a guess.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/result.h"

namespace ferry {

struct MacAddress {
  std::array<std::uint8_t, 6> bytes{};

  // The MAC as the low 48 bits of an integer, the first wire byte most
  // significant: 02:00:0a:01:00:ff == 0x02000a0100ff. Bits above 48 are
  // ignored by from_u64.
  [[nodiscard]] static constexpr MacAddress from_u64(std::uint64_t value) {
    MacAddress mac;
    for (std::size_t i = mac.bytes.size(); i-- > 0;) {
      mac.bytes[i] = static_cast<std::uint8_t>(value & 0xff);
      value >>= 8;
    }
    return mac;
  }
  [[nodiscard]] constexpr std::uint64_t to_u64() const {
    std::uint64_t value = 0;
    for (auto b : bytes) value = (value << 8) | b;
    return value;
  }

  [[nodiscard]] constexpr bool is_zero() const { return to_u64() == 0; }
  // The group bit: multicast, broadcast included.
  [[nodiscard]] constexpr bool is_multicast() const { return (bytes[0] & 0x01) != 0; }
  [[nodiscard]] constexpr bool is_broadcast() const { return to_u64() == 0xffffffffffffULL; }
  // The U/L bit: assigned locally (02:..., like Docker's and ours), not by a vendor.
  [[nodiscard]] constexpr bool is_locally_administered() const { return (bytes[0] & 0x02) != 0; }

  // Lower-case hex pairs with ':' between them: "02:42:0a:00:00:02".
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const MacAddress&, const MacAddress&) = default;
  // Orders as to_u64() does.
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=> (llvm#53961)
  friend constexpr auto operator<=>(const MacAddress&, const MacAddress&) = default;
};

// The packet path copies MACs in and out of frames and keys hash tables on
// to_u64(): the type must be exactly the six wire bytes.
static_assert(std::is_trivially_copyable_v<MacAddress>);
static_assert(std::is_standard_layout_v<MacAddress>);
static_assert(sizeof(MacAddress) == 6 && alignof(MacAddress) == 1);
static_assert(MacAddress::from_u64(0x02000a0100ffULL).to_u64() == 0x02000a0100ffULL);
static_assert(MacAddress::from_u64(0x02000a0100ffULL).bytes[0] == 0x02 &&
              MacAddress::from_u64(0x02000a0100ffULL).bytes[5] == 0xff);

// Six hex pairs in either case with one kind of separator, ':' or '-'
// throughout: "02:42:0a:00:00:02", "02-42-0A-00-00-02". Anything else
// (other lengths, mixed separators, spaces, Cisco "0242.0a00.0002") is an
// error naming the text.
Result<MacAddress> parse_mac(std::string_view text);

// parse_mac, and the address must be one an interface can own: not
// multicast/broadcast, not all zeros.
Result<MacAddress> parse_unicast_mac(std::string_view text);

}  // namespace ferry

template <>
struct std::hash<ferry::MacAddress> {
  std::size_t operator()(const ferry::MacAddress& mac) const noexcept {
    return std::hash<std::uint64_t>{}(mac.to_u64());
  }
};
