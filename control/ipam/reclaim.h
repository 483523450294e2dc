// Who inherits the blocks of doomed owners (dead past reclaim_after, seen by
// a majority: quorum.h). Each segment of consecutive blocks whose owners are
// all doomed goes to the owner of the block just before the segment
// (wrapping around), which keeps space contiguous. When every owner is
// doomed, each host that reclaims is its own heir; the tie-break on equal
// versions then picks one (block_map.h), which is why reclaimed blocks
// settle before use.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "control/ipam/block_map.h"

namespace ferry::ipam {

// The blocks `heir` inherits in `map`, ascending from the first block not
// owned by a doomed owner (block order when all are).
std::vector<std::uint32_t> inherited_blocks(const BlockMap& map, const std::set<std::string>& doomed,
                                            const std::string& heir);

}  // namespace ferry::ipam
