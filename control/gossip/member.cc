#include "control/gossip/member.h"

namespace ferry::gossip {

const char* to_string(MemberState s) {
  switch (s) {
    case MemberState::kAlive:
      return "alive";
    case MemberState::kSuspect:
      return "suspect";
    case MemberState::kDead:
      return "dead";
    case MemberState::kLeft:
      return "left";
  }
  return "?";
}

}  // namespace ferry::gossip
