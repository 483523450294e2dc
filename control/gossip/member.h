// What the membership layer knows about one node.
#pragma once

#include <cstdint>
#include <string>

#include "control/gossip/address.h"
#include "control/gossip/clock.h"

namespace ferry::gossip {

// Values match gossip.proto MemberStatus.
enum class MemberState : uint8_t {
  kAlive = 0,
  kSuspect = 1,
  kDead = 2,  // declared dead by failure detection
  kLeft = 3,  // announced a graceful leave
};

const char* to_string(MemberState s);

// A copy handed to the user layer (Delegate events, Node::members()).
struct MemberInfo {
  std::string name;
  Address address;
  uint32_t incarnation = 0;
  MemberState state = MemberState::kAlive;
  // Random per process start: a different boot_id under the same name means
  // the node restarted (its volatile state, e.g. table entries, is gone).
  uint64_t boot_id = 0;
  TimePoint state_change{};  // when `state` last changed, on the local clock
};

}  // namespace ferry::gossip
