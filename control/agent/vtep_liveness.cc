#include "control/agent/vtep_liveness.h"

#include <spdlog/spdlog.h>

namespace ferry::agent {

void VtepLiveness::on_status(const dp_api::VtepStatus& status, gossip::TimePoint now) {
  interval_ = std::chrono::milliseconds(status.interval_ms);
  for (const auto& v : status.vteps) {
    if (!v.vtep || !v.last_reply_ms) continue;
    const gossip::TimePoint at = now - std::chrono::milliseconds(*v.last_reply_ms);
    auto [it, added] = heard_.try_emplace(*v.vtep, at);
    if (!added && at > it->second) it->second = at;
  }
}

std::optional<gossip::TimePoint> VtepLiveness::last_heard(dp_api::Ipv4 vtep) const {
  auto it = heard_.find(vtep);
  if (it == heard_.end()) return std::nullopt;
  return it->second;
}

bool VtepLiveness::owner_answers(const std::string& owner, gossip::TimePoint now) const {
  if (interval_.count() == 0) return false;
  auto it = owner_vteps_.find(owner);
  if (it == owner_vteps_.end()) return false;
  const auto window = interval_ * config_.alive_intervals;
  for (const auto& vtep : it->second) {
    const auto heard = last_heard(vtep);
    if (heard && now - *heard <= window) return true;
  }
  return false;
}

bool VtepLiveness::keep(const std::string& owner, gossip::TimePoint now) {
  if (config_.keep_max.count() == 0) return false;
  const bool answers = owner_answers(owner, now);
  auto it = kept_.find(owner);
  if (it != kept_.end() && now - it->second.asked > kNewDeathAfter) {
    kept_.erase(it);  // it came back in between
    it = kept_.end();
  }
  if (!answers) {
    if (it != kept_.end()) {
      spdlog::info("owner {}: its data plane stopped answering the VTEP echo", owner);
      kept_.erase(it);
    }
    return false;
  }
  if (it == kept_.end()) {
    kept_.emplace(owner, Kept{now, now});
    return true;
  }
  it->second.asked = now;
  if (now - it->second.since >= config_.keep_max) {
    spdlog::info("owner {}: its data plane still answers, but its entries were kept for the longest allowed ({} s)",
                 owner, std::chrono::duration_cast<std::chrono::seconds>(config_.keep_max).count());
    return false;
  }
  return true;
}

}  // namespace ferry::agent
