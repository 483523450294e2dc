#include "control/ipam/delegate_mux.h"

#include <algorithm>
#include <cstring>

namespace ferry::ipam {

DelegateMux::DelegateMux(gossip::Delegate& tables, Allocator& ipam) : tables_(tables), ipam_(ipam) {
  ipam_.set_wire_prefix(std::string(kIpamPrefix));
}

bool DelegateMux::is_ipam(gossip::Bytes data) {
  return data.size() >= kIpamPrefix.size() && std::memcmp(data.data(), kIpamPrefix.data(), kIpamPrefix.size()) == 0;
}

void DelegateMux::get_broadcasts(size_t overhead_per_item, size_t byte_budget, std::vector<std::string>& out) {
  const std::size_t before = out.size();
  tables_.get_broadcasts(overhead_per_item, byte_budget, out);
  std::size_t used = 0;
  for (std::size_t i = before; i < out.size(); ++i) used += out[i].size() + overhead_per_item;
  if (used + overhead_per_item < byte_budget) ipam_.get_broadcasts(overhead_per_item, byte_budget - used, out);
}

void DelegateMux::notify_user_msg(std::string_view from_name, gossip::Bytes payload) {
  if (is_ipam(payload)) {
    ipam_.notify_user_msg(from_name, payload);
  } else {
    tables_.notify_user_msg(from_name, payload);
  }
}

std::string DelegateMux::local_state(bool join) {
  const std::string tables = tables_.local_state(join);
  const std::string ipam = ipam_.local_state(join);
  std::string out(kStateMarker);
  const auto n = static_cast<std::uint32_t>(tables.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += tables;
  out += ipam;
  return out;
}

void DelegateMux::merge_remote_state(gossip::Bytes state, bool join) {
  const std::size_t header = kStateMarker.size() + 4;
  if (state.size() < header || std::memcmp(state.data(), kStateMarker.data(), kStateMarker.size()) != 0) {
    tables_.merge_remote_state(state, join);  // a peer without the IPAM layer
    return;
  }
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(state[kStateMarker.size() + i]) << (8 * i);
  if (n > state.size() - header) return;  // truncated: dropped (each layer counts its own malformed input)
  tables_.merge_remote_state(state.subspan(header, n), join);
  if (state.size() > header + n) ipam_.merge_remote_state(state.subspan(header + n), join);
}

std::string DelegateMux::handle_user_request(std::string_view from_name, gossip::Bytes request) {
  return is_ipam(request) ? ipam_.handle_user_request(from_name, request)
                          : tables_.handle_user_request(from_name, request);
}

void DelegateMux::notify_user_response(uint64_t request_id, const Result<std::string>& response) {
  // Request ids are the Node's, unique across layers: each ignores others'.
  tables_.notify_user_response(request_id, response);
  ipam_.notify_user_response(request_id, response);
}

void DelegateMux::notify_join(const gossip::MemberInfo& info) {
  tables_.notify_join(info);
  ipam_.notify_join(info);
}

void DelegateMux::notify_update(const gossip::MemberInfo& info) {
  tables_.notify_update(info);
  ipam_.notify_update(info);
}

void DelegateMux::notify_leave(const gossip::MemberInfo& info) {
  tables_.notify_leave(info);
  ipam_.notify_leave(info);
}

gossip::TimePoint DelegateMux::next_deadline() const {
  return std::min(tables_.next_deadline(), ipam_.next_deadline());
}

void DelegateMux::tick(gossip::TimePoint now) {
  if (tables_.next_deadline() <= now) tables_.tick(now);
  if (ipam_.next_deadline() <= now) ipam_.tick(now);
}

}  // namespace ferry::ipam
