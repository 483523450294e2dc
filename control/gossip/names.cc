#include "control/gossip/names.h"

namespace ferry::gossip {

NameId NameTable::intern(std::string_view name) {
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  const auto id = static_cast<NameId>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(names_.back(), id);
  return id;
}

NameId NameTable::find(std::string_view name) const {
  const auto it = ids_.find(name);
  return it == ids_.end() ? kNoName : it->second;
}

}  // namespace ferry::gossip
