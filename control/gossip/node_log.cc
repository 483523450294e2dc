// Node: what it logs beyond the single membership events written where they
// happen (node_suspicion.cc, node_probe.cc, node_push_pull.cc): partition
// episodes noticed from every state change (PartitionWatch), and the
// rate-limited reports of traffic that fails to decode after it passed the
// transport's authentication (a key holder running another version, or a
// bug) and of joins that get no answer.
#include "control/gossip/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

namespace ferry::gossip {

namespace {

constexpr size_t kNamesInPartitionLine = 8;

struct ReasonText {
  const char* one;     // the first event
  const char* many;    // a count of them follows
  const char* source;  // what the address is
  const char* why;     // what it means
};

// Indexed by Node::LogReason.
constexpr ReasonText kReasons[] = {
    {"dropped a message that did not decode", "messages that did not decode dropped", "from",
     "sealed with the cluster key but not a gossip message: a peer of another version, or a bug"},
    {"dropped a message with invalid content", "messages with invalid content dropped", "from",
     "a bad member name or port from a peer holding the cluster key"},
    {"no seed answered a join attempt", "join attempts without an answer", "seed",
     "retrying; check the seed addresses, the key file and the network"},
};

}  // namespace

spdlog::logger& Node::log() const { return logger_ ? *logger_ : *spdlog::default_logger_raw(); }

void Node::note_change(NameId id, std::optional<MemberState> before, std::optional<MemberState> after) {
  const auto event = partition_.on_change(id, before, after, clock_.now());
  if (!event || leaving_) return;
  if (event->kind == PartitionWatch::Event::Kind::kStarted) {
    std::vector<std::string> names;
    for (NameId n : partition_.unreachable()) names.push_back(names_->name(n));
    std::sort(names.begin(), names.end());
    std::string listed;
    for (size_t i = 0; i < names.size() && i < kNamesInPartitionLine; ++i) {
      if (i > 0) listed += ", ";
      listed += names[i];
    }
    if (names.size() > kNamesInPartitionLine) {
      listed += " and " + std::to_string(names.size() - kNamesInPartitionLine) + " more";
    }
    log().warn("gossip: {} of {} members unreachable at once ({}): a network partition or several hosts down",
               event->unreachable, event->others, listed);
    return;
  }
  log().info("gossip: partition over after {} s: {} members back, {} forgotten or left, {} still unreachable",
             std::chrono::duration_cast<std::chrono::seconds>(event->lasted).count(), event->back, event->gone,
             event->unreachable);
}

void Node::note_drop(LogReason reason, const Address& from) {
  if (auto r = log_limiter_.note(static_cast<size_t>(reason), from, clock_.now())) report(*r);
}

void Node::flush_log(TimePoint now) {
  if (log_limiter_.next_flush() > now) return;
  log_scratch_.clear();
  log_limiter_.flush(now, log_scratch_);
  for (const auto& r : log_scratch_) report(r);
}

void Node::report(const LogLimiter::Report& r) {
  const ReasonText& text = kReasons[r.reason];
  if (r.first) {
    log().warn("gossip: {} ({} {}): {}; more are summed up every {} s", text.one, text.source, r.last_source, text.why,
               std::chrono::duration_cast<std::chrono::seconds>(log_limiter_.interval()).count());
    return;
  }
  log().warn("gossip: {} {} in the last {} s (last {} {}): {}", r.count, text.many,
             std::chrono::duration_cast<std::chrono::seconds>(r.span).count(), text.source, r.last_source, text.why);
}

}  // namespace ferry::gossip
