// NameTable: interns node names into dense ids. A node stores members by id
// (4 bytes instead of a string per member); the simulator shares one table
// among all its nodes, which keeps 10 000 nodes x 10 000 members in memory.
// Not thread-safe: share only between nodes driven by the same thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry::gossip {

using NameId = uint32_t;
inline constexpr NameId kNoName = UINT32_MAX;

class NameTable {
 public:
  NameId intern(std::string_view name);
  // kNoName when never interned.
  [[nodiscard]] NameId find(std::string_view name) const;
  [[nodiscard]] const std::string& name(NameId id) const { return names_[id]; }
  [[nodiscard]] size_t size() const { return names_.size(); }

 private:
  std::deque<std::string> names_;  // stable addresses for the string_view keys
  std::unordered_map<std::string_view, NameId> ids_;
};

}  // namespace ferry::gossip
