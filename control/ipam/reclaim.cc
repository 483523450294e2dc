#include "control/ipam/reclaim.h"

namespace ferry::ipam {

std::vector<std::uint32_t> inherited_blocks(const BlockMap& map, const std::set<std::string>& doomed,
                                            const std::string& heir) {
  const std::uint32_t n = map.size();
  std::uint32_t start = n;
  for (std::uint32_t b = 0; b < n && start == n; ++b) {
    if (!doomed.contains(map.owner(b))) start = b;
  }
  std::vector<std::uint32_t> taken;
  std::string current = heir;  // the heir of the segment being walked
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::uint32_t b = start == n ? k : (start + k) % n;
    const std::string& owner = map.owner(b);
    if (!doomed.contains(owner)) {
      current = owner;
      continue;
    }
    if (current == heir) taken.push_back(b);
  }
  return taken;
}

}  // namespace ferry::ipam
