#include "tests/dataplane/core/pcap.h"

#include <fstream>
#include <iterator>

namespace ferry::dataplane::test {

namespace {
std::uint32_t read32(const std::uint8_t* p, bool swap) {
  const std::uint32_t v = static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
                          static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
  return swap ? __builtin_bswap32(v) : v;
}
}  // namespace

Result<std::vector<PcapFrame>> read_pcap(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open {}", path);
  const std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 24) return make_error("{}: shorter than a pcap header", path);
  const std::uint32_t magic = read32(data.data(), false);
  bool swap;
  if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
    swap = false;
  } else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
    swap = true;
  } else {
    return make_error("{}: not a classic pcap file (magic {:#x})", path, magic);
  }
  if (read32(data.data() + 20, swap) != 1) return make_error("{}: link type is not Ethernet", path);
  std::vector<PcapFrame> frames;
  std::size_t at = 24;
  while (at < data.size()) {
    if (data.size() - at < 16) return make_error("{}: truncated record header at offset {}", path, at);
    const std::uint32_t incl = read32(data.data() + at + 8, swap);
    const std::uint32_t orig = read32(data.data() + at + 12, swap);
    at += 16;
    if (data.size() - at < incl) return make_error("{}: truncated record at offset {}", path, at);
    frames.push_back(PcapFrame{
        {data.begin() + static_cast<std::ptrdiff_t>(at), data.begin() + static_cast<std::ptrdiff_t>(at + incl)}, orig});
    at += incl;
  }
  return frames;
}

}  // namespace ferry::dataplane::test
