// Who inherits a doomed owner's blocks (control/ipam/reclaim.h), from
// tables of maps: the owner just before each doomed segment, wrapping
// around; every reclaimer when all owners are doomed.
#include "control/ipam/reclaim.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace ferry::ipam {
namespace {

// A map of one block per character: owner "a".."z".
BlockMap map_of(const std::string& owners) {
  BlockMap m(static_cast<std::uint32_t>(owners.size()), "g");
  for (std::uint32_t b = 0; b < owners.size(); ++b) m.merge(b, Record{1, std::string(1, owners[b]), false});
  return m;
}

TEST(Reclaim, HeirsFromTables) {
  struct Case {
    const char* map;
    std::set<std::string> doomed;
    const char* heir;
    std::vector<std::uint32_t> want;
  };
  const Case cases[] = {
      {"aabbcc", {"b"}, "a", {2, 3}},             // the owner before the segment
      {"aabbcc", {"b"}, "c", {}},                 // not the one before
      {"aabbcc", {"a"}, "c", {0, 1}},             // wraps around: c precedes block 0
      {"abcabc", {"b", "c"}, "a", {1, 2, 4, 5}},  // two segments, same heir
      {"abcbca", {"b"}, "a", {1}},                // a's segment only; c's goes to c
      {"abcbca", {"b"}, "c", {3}},
      {"aaaa", {"b"}, "a", {}},                 // nobody doomed owns anything
      {"abab", {"a", "b"}, "c", {0, 1, 2, 3}},  // all doomed: every reclaimer is heir
      {"abab", {"a", "b"}, "a", {0, 1, 2, 3}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(inherited_blocks(map_of(c.map), c.doomed, c.heir), c.want) << "map " << c.map << " heir " << c.heir;
  }
}

TEST(Reclaim, EveryDoomedBlockHasExactlyOneHeir) {
  const BlockMap m = map_of("aabccbdddbab");
  const std::set<std::string> doomed = {"b", "c"};
  std::vector<int> heirs(m.size(), 0);
  for (const char* heir : {"a", "d"}) {
    for (const std::uint32_t b : inherited_blocks(m, doomed, heir)) ++heirs[b];
  }
  for (std::uint32_t b = 0; b < m.size(); ++b) {
    EXPECT_EQ(heirs[b], doomed.contains(m.owner(b)) ? 1 : 0) << "block " << b;
  }
}

}  // namespace
}  // namespace ferry::ipam
