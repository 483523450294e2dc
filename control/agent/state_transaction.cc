#include "control/agent/state_transaction.h"

#include <cassert>

#include <spdlog/spdlog.h>

namespace ferry::agent {

StateTransaction::StateTransaction(StateStore& store) : store_(store) {
  assert(!store_.in_transaction_ && "one state transaction at a time");
  store_.in_transaction_ = true;
}

StateTransaction::~StateTransaction() {
  if (open_) roll_back();
}

Result<void> StateTransaction::persist() {
  if (auto r = store_.state_.save(store_.dir_); !r) {
    roll_back();
    return r;
  }
  saved_ = true;
  return ok();
}

void StateTransaction::commit() {
  if (!open_) return;
  open_ = false;
  store_.in_transaction_ = false;
}

void StateTransaction::roll_back() {
  if (!open_) return;
  // Newest first, so an entry touched twice ends at its oldest value.
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {  // NOLINT(modernize-loop-convert): reverse order
    (*it)();
  }
  undo_.clear();
  touched_.clear();
  if (saved_) {
    if (auto r = store_.state_.save(store_.dir_); !r) {
      spdlog::warn("state: saving the rolled-back state: {}", r.error().message);
    }
  }
  open_ = false;
  store_.in_transaction_ = false;
}

}  // namespace ferry::agent
