#include "control/agent/reconciler.h"

#include <spdlog/spdlog.h>

namespace ferry::agent {

namespace v1 = dp_api::v1;

void Reconciler::set_desired(DpState desired) {
  if (desired == desired_) return;
  desired_ = std::move(desired);
  dirty_ = true;
}

bool Reconciler::check() {
  v1::Request req;
  req.mutable_health_get();
  return check_reply(link_.call(req));
}

void Reconciler::on_health(const Result<v1::Reply>& reply) {
  if (check_reply(reply)) send_diff();
}

void Reconciler::run_known() {
  if (status_.dataplane_up) send_diff();
}

bool Reconciler::check_reply(const Result<v1::Reply>& reply) {
  if (!reply || reply->status() != v1::STATUS_OK || !reply->has_health()) {
    if (status_.dataplane_up) {
      spdlog::warn("data plane not answering: {}", reply ? reply->message() : reply.error().message);
    }
    status_.dataplane_up = false;
    status_.last_error = reply ? reply->message() : reply.error().message;
    return false;
  }
  const std::string& boot = reply->health().boot_id();
  status_.endpoint_mtu = reply->health().endpoint_mtu();
  status_.endpoint_driver = reply->health().endpoint_driver();
  if (status_.dataplane_up && boot == status_.boot_id) return true;
  // New to us: read what it holds.
  v1::Request dump_req;
  dump_req.mutable_dump_get();
  auto dump = link_.call(dump_req);
  if (!dump || dump->status() != v1::STATUS_OK || !dump->has_dump()) {
    status_.dataplane_up = false;
    status_.last_error = dump ? dump->message() : dump.error().message;
    return false;
  }
  applied_ = from_dump(dump->dump());
  spdlog::info("data plane {} (boot id {}): {} entries found, re-syncing",
               status_.boot_id.empty() ? "found" : "restarted", boot, applied_.size());
  status_.boot_id = boot;
  status_.dataplane_up = true;
  ++status_.resyncs;
  dirty_ = true;
  return true;
}

void Reconciler::run(bool check_health) {
  if (check_health || !status_.dataplane_up) {
    if (!check()) return;
  }
  send_diff();
}

void Reconciler::send_diff() {
  if (!dirty_) return;
  ++status_.passes;
  const std::vector<Op> ops = diff(desired_, applied_);
  bool failed = false;
  for (const Op& op : ops) {
    auto reply = link_.call(to_request(op));
    if (!reply) {
      // Transport failure: the data plane is gone; the next health check
      // decides whether it restarted.
      status_.dataplane_up = false;
      status_.last_error = reply.error().message;
      ++status_.ops_failed;
      failed = true;
      spdlog::warn("data plane: {} failed: {}", describe(op), reply.error().message);
      break;
    }
    const bool add = op.kind >= OpKind::kNetworkAdd;
    const bool done = reply->status() == v1::STATUS_OK || (add && reply->status() == v1::STATUS_ALREADY_EXISTS) ||
                      (!add && reply->status() == v1::STATUS_NOT_FOUND);
    if (done) {
      apply_op(applied_, op);
      ++status_.ops_applied;
      spdlog::debug("data plane: {}", describe(op));
    } else {
      ++status_.ops_failed;
      failed = true;
      status_.last_error = reply->message();
      spdlog::warn("data plane: {} refused: {} ({})", describe(op), reply->message(),
                   dp_api::status_name(reply->status()));
    }
  }
  status_.pending = failed ? diff(desired_, applied_).size() : 0;
  dirty_ = failed;
}

}  // namespace ferry::agent
