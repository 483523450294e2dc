// The one place where the agent's durable state (LocalState, state.json)
// changes. A request opens a StateTransaction on the StateStore, changes
// entries through it, and persist()s before it answers. The transaction
// remembers the previous value of each entry the first time it touches it
// (never a copy of the whole state), so a failure puts back exactly what it
// changed: a failed save rolls back at once; a later step that fails
// (wiring a veth, publishing a record) calls roll_back(), which restores the
// entries and, when the change had been saved, saves the restored state.
// A transaction that goes out of scope without commit() rolls back, so an
// early return can never leave a half-applied change.
//
// Single-threaded: the agent's loop thread only. One transaction at a time.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "control/agent/local_state.h"

namespace ferry::agent {

// LocalState and the directory it is saved in. Readers get it const; every
// change goes through a StateTransaction.
class StateStore {
 public:
  StateStore(std::string dir, LocalState state) : dir_(std::move(dir)), state_(std::move(state)) {}
  [[nodiscard]] const LocalState& state() const { return state_; }
  [[nodiscard]] const std::string& dir() const { return dir_; }

 private:
  friend class StateTransaction;
  std::string dir_;
  LocalState state_;
  bool in_transaction_ = false;
};

class StateTransaction {
 public:
  explicit StateTransaction(StateStore& store);
  ~StateTransaction();
  StateTransaction(const StateTransaction&) = delete;
  StateTransaction& operator=(const StateTransaction&) = delete;

  [[nodiscard]] const LocalState& state() const { return store_.state_; }

  // The entry under `key`, created (default value) when missing; its value
  // before this transaction is remembered on the first touch.
  LocalEndpoint& endpoint(const std::string& name) { return touch(store_.state_.endpoints, name); }
  NetworkRecord& network(const std::string& name) { return touch(store_.state_.networks, name); }
  DockerNetwork& binding(const std::string& id) { return touch(store_.state_.docker_networks, id); }
  IpamPool& pool(const std::string& id) { return touch(store_.state_.pools, id); }
  void erase_endpoint(const std::string& name) { erase(store_.state_.endpoints, name); }
  void erase_network(const std::string& name) { erase(store_.state_.networks, name); }
  void erase_binding(const std::string& id) { erase(store_.state_.docker_networks, id); }
  void erase_pool(const std::string& id) { erase(store_.state_.pools, id); }

  // Saves the state (state.json, atomically). On failure the transaction
  // rolls back at once and the error is returned: nothing changed.
  [[nodiscard]] Result<void> persist();
  // Keeps the change; the transaction is over.
  void commit();
  // Puts back every touched entry; saves again when persist() had saved the
  // change (a failure of that save is logged: the file then holds the
  // change, which the next start repairs as after a crash).
  void roll_back();

 private:
  template <class V>
  V& touch(std::map<std::string, V>& map, const std::string& key) {
    remember(map, key);
    return map[key];
  }
  template <class V>
  void erase(std::map<std::string, V>& map, const std::string& key) {
    remember(map, key);
    map.erase(key);
  }
  template <class V>
  void remember(std::map<std::string, V>& map, const std::string& key) {
    if (!touched_.insert({static_cast<const void*>(&map), key}).second) return;
    auto it = map.find(key);
    std::optional<V> before;
    if (it != map.end()) before = it->second;
    undo_.push_back([&map, key, before = std::move(before)] {
      if (before) {
        map[key] = *before;
      } else {
        map.erase(key);
      }
    });
  }

  StateStore& store_;
  std::set<std::pair<const void*, std::string>> touched_;
  std::vector<std::function<void()>> undo_;  // in the order the entries were first touched
  bool saved_ = false;
  bool open_ = true;
};

}  // namespace ferry::agent
