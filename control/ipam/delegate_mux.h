// DelegateMux: lets the replicated tables (TableDb) and the IPAM (Allocator)
// share one gossip Node, which has a single Delegate. IPAM messages carry a
// two-byte prefix, "\0I", that no protobuf message can start with (field
// number 0 is invalid), so everything else is the tables' untouched; the mux
// routes by it:
//
//  - broadcasts: both layers fill the same datagram budget, tables first;
//  - user messages and user requests: "\0I..." to the IPAM, the rest to the
//    tables; responses go to both (each ignores request ids it did not
//    issue);
//  - push-pull state: "\0M" + 4-byte little-endian length + tables state +
//    IPAM state; a state without the marker (a peer without IPAM) is all
//    tables';
//  - membership events and timers: both.
#pragma once

#include <string_view>

#include "control/gossip/delegate.h"
#include "control/ipam/allocator.h"

namespace ferry::ipam {

class DelegateMux final : public gossip::Delegate {
 public:
  static constexpr std::string_view kIpamPrefix{"\0I", 2};
  static constexpr std::string_view kStateMarker{"\0M", 2};

  // Sets the allocator's wire prefix. Call node.set_delegate(&mux) after
  // building the tables layer (TableDb registers itself in its constructor).
  DelegateMux(gossip::Delegate& tables, Allocator& ipam);

  void get_broadcasts(size_t overhead_per_item, size_t byte_budget, std::vector<std::string>& out) override;
  void notify_user_msg(std::string_view from_name, gossip::Bytes payload) override;
  std::string local_state(bool join) override;
  void merge_remote_state(gossip::Bytes state, bool join) override;
  std::string handle_user_request(std::string_view from_name, gossip::Bytes request) override;
  void notify_user_response(uint64_t request_id, const Result<std::string>& response) override;
  void notify_join(const gossip::MemberInfo& info) override;
  void notify_update(const gossip::MemberInfo& info) override;
  void notify_leave(const gossip::MemberInfo& info) override;
  [[nodiscard]] gossip::TimePoint next_deadline() const override;
  void tick(gossip::TimePoint now) override;

 private:
  static bool is_ipam(gossip::Bytes data);

  gossip::Delegate& tables_;
  Allocator& ipam_;
};

}  // namespace ferry::ipam
