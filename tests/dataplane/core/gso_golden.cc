#include "tests/dataplane/core/gso_golden.h"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <fstream>
#include <sstream>

#include "tests/dataplane/core/pcap.h"

namespace ferry::dataplane::test {

std::vector<Golden> load_golden() {
  std::vector<Golden> out;
  auto supers = read_pcap(FERRY_TEST_DATA "/gso/superframes.pcap");
  auto segs = read_pcap(FERRY_TEST_DATA "/gso/segments.pcap");
  EXPECT_TRUE(supers && segs);
  if (!supers || !segs) return out;
  std::ifstream index(FERRY_TEST_DATA "/gso/index.txt");
  std::string line;
  while (std::getline(index, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    Golden g;
    unsigned n, flags, type, hdr, size, start, offset, first, count;
    in >> n >> g.label >> flags >> type >> hdr >> size >> start >> offset >> first >> count;
    EXPECT_TRUE(in) << line;
    g.vnet_flags = static_cast<std::uint8_t>(flags);
    g.gso_type = static_cast<std::uint8_t>(type);
    g.hdr_len = static_cast<std::uint16_t>(hdr);
    g.gso_size = static_cast<std::uint16_t>(size);
    g.csum_start = static_cast<std::uint16_t>(start);
    g.csum_offset = static_cast<std::uint16_t>(offset);
    g.super = supers->at(n).bytes;
    for (unsigned i = first; i < first + count; ++i) g.segments.push_back(segs->at(i).bytes);
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<GoldenVxlan> load_golden_vxlan() {
  std::vector<GoldenVxlan> out;
  auto segs = read_pcap(FERRY_TEST_DATA "/gso/vxlan-segments.pcap");
  EXPECT_TRUE(segs);
  if (!segs) return out;
  std::ifstream index(FERRY_TEST_DATA "/gso/vxlan-index.txt");
  std::string line;
  while (std::getline(index, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    GoldenVxlan v;
    unsigned first, count;
    in >> v.super >> v.label >> v.outer_version >> first >> count;
    EXPECT_TRUE(in) << line;
    for (unsigned i = first; i < first + count; ++i) v.segments.push_back(segs->at(i).bytes);
    out.push_back(std::move(v));
  }
  return out;
}

void set_from_vnet(rte_mbuf* m, const Golden& g) {
  const bool udp = (g.gso_type & 0x7f) == kGsoUdpL4 || g.csum_offset == 6;
  const bool ipv6 = (g.super[12] << 8 | g.super[13]) == 0x86dd;
  m->ol_flags = ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4;
  m->l2_len = 14;
  m->l3_len = static_cast<std::uint16_t>(g.csum_start - 14);
  m->l4_len = static_cast<std::uint8_t>(udp ? 8 : (g.super[g.csum_start + 12] >> 4) * 4);
  if ((g.vnet_flags & 1) != 0) m->ol_flags |= udp ? RTE_MBUF_F_TX_UDP_CKSUM : RTE_MBUF_F_TX_TCP_CKSUM;
  if (g.gso_type != 0) {
    m->ol_flags |= udp ? RTE_MBUF_F_TX_UDP_SEG : RTE_MBUF_F_TX_TCP_SEG;
    m->tso_segsz = g.gso_size;
  }
}

}  // namespace ferry::dataplane::test
