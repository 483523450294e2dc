#include "control/agent/reconciler.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <tuple>

namespace ferry::agent {

ZmqDataplaneLink::ZmqDataplaneLink(std::string endpoint, std::chrono::milliseconds timeout, std::string client)
    : client_(std::move(endpoint), timeout, dp_api::RequestMeta{std::move(client), false}),
      cancel_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  // Without an eventfd (out of descriptors) calls still end at the timeout.
  client_.set_cancel_fd(cancel_fd_);
}

ZmqDataplaneLink::~ZmqDataplaneLink() {
  if (cancel_fd_ >= 0) ::close(cancel_fd_);
}

void ZmqDataplaneLink::cancel() {
  if (cancel_fd_ < 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(cancel_fd_, &one, sizeof one);  // never full: it is read by no one
}

namespace v1 = dp_api::v1;

void Reconciler::set_desired(DpState desired) {
  if (desired == desired_) return;
  desired_ = std::move(desired);
  dirty_ = true;
}

Result<dp_api::Reply> Reconciler::call(const dp_api::Command& command) {
  auto reply = link_.call(dp_api::encode_request(command));
  if (!reply) return std::move(reply).error();
  return dp_api::parse_reply(*reply);
}

bool Reconciler::check() { return check_reply(link_.call(dp_api::encode_request(dp_api::HealthCmd{}))); }

void Reconciler::on_health(const Result<v1::Reply>& reply) {
  if (check_reply(reply)) send_diff();
}

void Reconciler::run_known() {
  if (status_.dataplane_up) send_diff();
}

bool Reconciler::check_reply(const Result<v1::Reply>& wire) {
  Result<dp_api::Reply> reply = wire ? dp_api::parse_reply(*wire) : Result<dp_api::Reply>(wire.error());
  const dp_api::Health* health = reply ? reply->get<dp_api::Health>() : nullptr;
  if (!reply || !reply->ok() || health == nullptr) {
    const std::string why = reply ? reply->message : reply.error().message;
    if (status_.dataplane_up) spdlog::warn("data plane not answering: {}", why);
    status_.dataplane_up = false;
    status_.last_error = why;
    return false;
  }
  const std::string& boot = health->boot_id;
  status_.endpoint_mtu = health->endpoint_mtu;
  status_.endpoint_driver = health->endpoint_driver;
  if (status_.dataplane_up && boot == status_.boot_id) return true;
  // New to us: read what it holds.
  auto dump = call(dp_api::DumpCmd{});
  const dp_api::Dump* tables = dump ? dump->get<dp_api::Dump>() : nullptr;
  if (!dump || !dump->ok() || tables == nullptr) {
    status_.dataplane_up = false;
    status_.last_error = dump ? dump->message : dump.error().message;
    return false;
  }
  applied_ = from_dump(*tables);
  spdlog::info("data plane {} (boot id {}): {} entries found, re-syncing",
               status_.boot_id.empty() ? "found" : "restarted", boot, applied_.size());
  if (status_.holding_removals && applied_.size() == 0) {
    set_hold_removals(false);  // nothing there to keep
  }
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

void Reconciler::set_hold_removals(bool hold) {
  if (hold == status_.holding_removals) return;
  status_.holding_removals = hold;
  if (!hold) {
    status_.held = 0;
    dirty_ = true;  // send the removals held back
  }
}

namespace {

bool is_removal(OpKind kind) { return kind < OpKind::kNetworkAdd; }

// The add that goes with a removal when an entry is replaced.
OpKind addition_for(OpKind removal) {
  switch (removal) {
    case OpKind::kPortDel:
      return OpKind::kPortAdd;
    case OpKind::kFdbDel:
      return OpKind::kFdbAdd;
    case OpKind::kNeighDel:
      return OpKind::kNeighAdd;
    case OpKind::kFloodDel:
      return OpKind::kFloodAdd;
    default:
      return OpKind::kNetworkAdd;
  }
}

// The entry an operation adds or removes, as an ordered key; `kind` is the
// addition's (a removal is looked up as the addition that replaces it).
using EntryKey = std::tuple<OpKind, std::uint32_t, std::string, MacAddress, IpAddress, IpAddress>;
EntryKey entry_key(const Op& op, OpKind kind) {
  const Op e = entry_of(op);
  return {kind, e.vni, e.iface, e.mac, e.ip, e.vtep};
}

// Without the removals that no addition replaces.
std::vector<Op> without_pure_removals(const std::vector<Op>& ops, std::size_t& held) {
  std::set<EntryKey> added;
  for (const Op& op : ops) {
    if (!is_removal(op.kind)) added.insert(entry_key(op, op.kind));
  }
  std::vector<Op> out;
  held = 0;
  for (const Op& op : ops) {
    // A removal goes out only as the first half of a replacement (its entry
    // is added back in the same diff); pure removals are held.
    const bool pure_removal = is_removal(op.kind) && (op.kind == OpKind::kNetworkDel ||
                                                      added.count(entry_key(op, addition_for(op.kind))) == 0);
    if (pure_removal) {
      ++held;
    } else {
      out.push_back(op);
    }
  }
  return out;
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Reconciler::audit() {
  if (!status_.dataplane_up || status_.holding_removals) return;
  auto dump = call(dp_api::DumpCmd{});
  const dp_api::Dump* tables = dump ? dump->get<dp_api::Dump>() : nullptr;
  status_.last_audit_unix_ms = unix_ms_now();
  if (!dump || !dump->ok() || tables == nullptr) {
    ++status_.audits_failed;
    status_.last_audit = "failed: " + (dump ? dump->message : dump.error().message);
    spdlog::warn("drift audit: the data plane's dump could not be read: {}",
                 dump ? dump->message : dump.error().message);
    return;
  }
  ++status_.audits;
  const DpState actual = from_dump(*tables);
  std::vector<std::string> examples;
  status_.last_drift = drift(applied_, actual, &examples);
  std::uint64_t found = 0;
  std::string kinds;
  for (const auto& [kind, n] : status_.last_drift) {
    found += n;
    status_.drift[kind] += n;
    kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", kind, n);
  }
  status_.drift_total += found;
  if (found == 0) {
    status_.last_audit = "clean";
    return;
  }
  status_.last_audit = fmt::format("repaired {}: {}", found, kinds);
  std::string listed;
  for (const auto& e : examples) listed += fmt::format("{}{}", listed.empty() ? "" : "; ", e);
  spdlog::warn("drift audit: the data plane differs from what this agent applied in {} entries ({}): {}{}; repairing",
               found, kinds, listed, found > examples.size() ? "; ..." : "");
  applied_ = actual;
  dirty_ = true;
  send_diff();
}

void Reconciler::send_diff() {
  if (!dirty_) return;
  ++status_.passes;
  const std::vector<Op> all = diff(desired_, applied_);
  std::size_t held = 0;
  const std::vector<Op> ops = status_.holding_removals ? without_pure_removals(all, held) : all;
  if (held != status_.held) {
    if (held != 0) spdlog::info("data plane: {} removals held until the gossip view has synced", held);
    status_.held = held;
  }
  bool failed = false;
  for (const Op& op : ops) {
    auto command = to_command(op);
    if (!command) {
      // An entry the data plane would refuse: counted, retried with the
      // next change (it fails the same way until its source changes).
      ++status_.ops_failed;
      failed = true;
      status_.last_error = command.error().message;
      spdlog::warn("data plane: {} not sent: {}", describe(op), command.error().message);
      continue;
    }
    auto reply = call(*command);
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
    // Removing what is gone, or adding what is there, is done.
    const bool add = op.kind >= OpKind::kNetworkAdd;
    const bool done =
        reply->ok() || (add && reply->code == ErrorCode::kExists) || (!add && reply->code == ErrorCode::kNotFound);
    if (done) {
      apply_op(applied_, op);
      ++status_.ops_applied;
      spdlog::debug("data plane: {}", describe(op));
    } else {
      ++status_.ops_failed;
      failed = true;
      status_.last_error = reply->message;
      spdlog::warn("data plane: {} refused: {} ({})", describe(op), reply->message, dp_api::status_name(reply->status));
    }
  }
  status_.pending = failed || held != 0 ? diff(desired_, applied_).size() : 0;
  dirty_ = failed;
}

}  // namespace ferry::agent
