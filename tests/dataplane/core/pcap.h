// A minimal reader for classic pcap files (not pcapng): enough for the golden
// frames in tests/data. No libpcap dependency.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace ferry::dataplane::test {

struct PcapFrame {
  std::vector<std::uint8_t> bytes;  // the captured bytes (incl_len)
  std::uint32_t original_size = 0;  // orig_len
};

// Reads every frame of an Ethernet (linktype 1) pcap file, either byte order,
// microsecond or nanosecond timestamps.
Result<std::vector<PcapFrame>> read_pcap(const std::string& path);

}  // namespace ferry::dataplane::test
