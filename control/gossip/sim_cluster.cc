#include "control/gossip/sim_cluster.h"

#include <fmt/format.h>

#include <algorithm>

namespace ferry::gossip {

namespace {
constexpr uint32_t kBaseIp = 0x0a000001;  // node 0 is 10.0.0.1
}

class SimCluster::SimTransport final : public Transport {
 public:
  SimTransport(SimCluster& sim, size_t index) : sim_(sim), index_(index) {}
  [[nodiscard]] Address local_address() const override { return address_of(index_, sim_.net_.port); }
  void send_packet(const Address& to, std::string data) override { sim_.send_packet(index_, to, std::move(data)); }
  void request(const Address& to, uint64_t request_id, std::string data) override {
    sim_.send_request(index_, to, request_id, std::move(data));
  }

 private:
  SimCluster& sim_;
  size_t index_;
};

SimCluster::SimCluster(Config config, SimNetConfig net, uint64_t seed)
    : config_(config), net_(net), seed_(seed), rng_(mix_seed(seed)), names_(std::make_shared<NameTable>()) {}

SimCluster::~SimCluster() {
  // Nodes first: a delegate owned by the hook's owner may outlive us.
  for (auto& s : slots_) s.node.reset();
}

Address SimCluster::address_of(size_t i, uint16_t port) { return Address{kBaseIp + static_cast<uint32_t>(i), port}; }

std::string SimCluster::name_of(size_t i) { return fmt::format("node-{}", i); }

size_t SimCluster::index_of(const Address& a) { return a.ip >= kBaseIp ? a.ip - kBaseIp : SIZE_MAX; }

size_t SimCluster::add_node() {
  const size_t i = slots_.size();
  slots_.emplace_back();
  slots_[i].transport = std::make_unique<SimTransport>(*this, i);
  make_node(i);
  return i;
}

void SimCluster::add_nodes(size_t n) {
  slots_.reserve(slots_.size() + n);
  for (size_t k = 0; k < n; ++k) add_node();
}

void SimCluster::make_node(size_t i) {
  Slot& s = slots_[i];
  const uint64_t node_seed = mix_seed(seed_ ^ (uint64_t{i} << 24) ^ (uint64_t{s.generation} << 52));
  s.node = std::make_unique<Node>(config_, name_of(i), clock_, *s.transport, node_seed, nullptr, names_);
  give_logger(i);
  s.wake = kNever;
  if (hook_) hook_(i, *s.node);
  s.node->start();
  reschedule(i);
}

void SimCluster::set_log_sink(std::shared_ptr<spdlog::sinks::sink> sink, spdlog::level::level_enum level) {
  log_sink_ = std::move(sink);
  log_level_ = level;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].node) give_logger(i);
  }
}

void SimCluster::give_logger(size_t i) {
  if (!log_sink_) {
    if (!quiet_logger_) {
      quiet_logger_ = std::make_shared<spdlog::logger>("sim", spdlog::sinks_init_list{});
      quiet_logger_->set_level(spdlog::level::off);
    }
    slots_[i].node->set_logger(quiet_logger_);
    return;
  }
  auto logger = std::make_shared<spdlog::logger>(name_of(i), log_sink_);
  logger->set_level(log_level_);
  slots_[i].node->set_logger(std::move(logger));
}

void SimCluster::join(size_t i, const std::vector<size_t>& seeds) {
  std::vector<Address> addrs;
  addrs.reserve(seeds.size());
  for (size_t s : seeds) addrs.push_back(address_of(s, net_.port));
  node(i).join(addrs);
  reschedule(i);
}

void SimCluster::join_all(size_t seed, Duration spread) {
  const TimePoint now = clock_.now();
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (i == seed || !is_up(i)) continue;
    const Duration at = spread.count() > 0
                            ? Duration(static_cast<int64_t>(rng_.below(static_cast<uint64_t>(spread.count()))))
                            : Duration(0);
    slots_[i].pending_join = {seed};
    push(Event{now + at, 0, EventKind::kJoin, static_cast<uint32_t>(i), 0, slots_[i].generation, 0, 0});
  }
}

void SimCluster::bootstrap_converged() {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!is_up(i)) continue;
    Node& n = node(i);
    n.reserve(slots_.size());
    for (size_t j = 0; j < slots_.size(); ++j) {
      if (j == i || !is_up(j)) continue;
      n.insert_member_quietly(name_of(j), address_of(j, net_.port), node(j).incarnation(), node(j).boot_id());
    }
  }
}

void SimCluster::crash(size_t i) {
  Slot& s = slots_[i];
  s.node.reset();
  ++s.generation;
  s.wake = kNever;
}

void SimCluster::restart(size_t i) {
  if (is_up(i)) crash(i);
  make_node(i);
}

void SimCluster::partition(const std::vector<uint32_t>& group_of_node) {
  for (size_t i = 0; i < slots_.size() && i < group_of_node.size(); ++i) slots_[i].group = group_of_node[i];
}

void SimCluster::heal() {
  for (auto& s : slots_) s.group = 0;
}

bool SimCluster::reachable(size_t a, size_t b) const { return slots_[a].group == slots_[b].group; }

// ------------------------------------------------------------------ events

void SimCluster::push(Event e) {
  e.seq = next_seq_++;
  events_.push(e);
}

uint32_t SimCluster::store(std::string&& data) {
  if (!free_payloads_.empty()) {
    const uint32_t idx = free_payloads_.back();
    free_payloads_.pop_back();
    payloads_[idx] = std::move(data);
    return idx;
  }
  payloads_.push_back(std::move(data));
  return static_cast<uint32_t>(payloads_.size() - 1);
}

std::string SimCluster::take(uint32_t payload) {
  std::string out = std::move(payloads_[payload]);
  payloads_[payload].clear();
  free_payloads_.push_back(payload);
  return out;
}

void SimCluster::send_packet(size_t from, const Address& to, std::string&& data) {
  slots_[from].bytes_sent += data.size();
  const size_t dst = index_of(to);
  if (dst >= slots_.size() || to.port != net_.port || !reachable(from, dst)) return;
  if (rng_.chance(net_.loss)) return;
  const auto delay = [&] {
    const auto span = static_cast<uint64_t>((net_.max_delay - net_.min_delay).count());
    return net_.min_delay + Duration(static_cast<int64_t>(span > 0 ? rng_.below(span + 1) : 0));
  };
  const TimePoint now = clock_.now();
  if (rng_.chance(net_.duplicate)) {
    std::string copy = data;
    push(Event{now + delay(), 0, EventKind::kPacket, static_cast<uint32_t>(dst), static_cast<uint32_t>(from), 0, 0,
               store(std::move(copy))});
  }
  push(Event{now + delay(), 0, EventKind::kPacket, static_cast<uint32_t>(dst), static_cast<uint32_t>(from), 0, 0,
             store(std::move(data))});
}

void SimCluster::send_request(size_t from, const Address& to, uint64_t id, std::string&& data) {
  slots_[from].bytes_sent += data.size();
  largest_stream_ = std::max(largest_stream_, data.size());
  const size_t dst = index_of(to);
  const TimePoint now = clock_.now();
  const auto gen = slots_[from].generation;
  if (dst >= slots_.size() || to.port != net_.port) {
    push(Event{now + net_.stream_fail_delay, 0, EventKind::kStreamFail, static_cast<uint32_t>(from), 0, gen, id, 0});
    return;
  }
  push(Event{now + net_.stream_delay, 0, EventKind::kStreamRequest, static_cast<uint32_t>(dst),
             static_cast<uint32_t>(from), gen, id, store(std::move(data))});
}

void SimCluster::reschedule(size_t i) {
  Slot& s = slots_[i];
  if (!s.node) return;
  const TimePoint d = s.node->next_deadline();
  if (d == kNever || d >= s.wake) return;
  s.wake = d;
  push(Event{std::max(d, clock_.now()), 0, EventKind::kWake, static_cast<uint32_t>(i), 0, s.generation, 0, 0});
}

void SimCluster::dispatch(const Event& e) {
  Slot& s = slots_[e.to];
  switch (e.kind) {
    case EventKind::kPacket: {
      std::string data = take(e.payload);
      if (!s.node || !reachable(e.from, e.to)) return;
      s.node->on_packet(address_of(e.from, net_.port), as_bytes(data));
      reschedule(e.to);
      return;
    }
    case EventKind::kStreamRequest: {
      std::string data = take(e.payload);
      const TimePoint now = clock_.now();
      if (!s.node || !reachable(e.from, e.to)) {
        push(Event{now + net_.stream_fail_delay, 0, EventKind::kStreamFail, e.from, 0, e.generation, e.request_id, 0});
        return;
      }
      std::string response = s.node->on_stream_request(address_of(e.from, net_.port), as_bytes(data));
      reschedule(e.to);
      if (response.empty()) {
        push(Event{now + net_.stream_delay, 0, EventKind::kStreamFail, e.from, 0, e.generation, e.request_id, 0});
        return;
      }
      s.bytes_sent += response.size();
      largest_stream_ = std::max(largest_stream_, response.size());
      push(Event{now + net_.stream_delay, 0, EventKind::kStreamResponse, e.from, e.to, e.generation, e.request_id,
                 store(std::move(response))});
      return;
    }
    case EventKind::kStreamResponse: {
      std::string data = take(e.payload);
      if (!s.node || s.generation != e.generation) return;
      if (!reachable(e.from, e.to)) {
        s.node->on_stream_response(e.request_id, make_error("sim: stream to {} cut by partition", e.from));
      } else {
        s.node->on_stream_response(e.request_id, std::move(data));
      }
      reschedule(e.to);
      return;
    }
    case EventKind::kStreamFail:
      if (!s.node || s.generation != e.generation) return;
      s.node->on_stream_response(e.request_id, make_error("sim: stream failed (peer down or unreachable)"));
      reschedule(e.to);
      return;
    case EventKind::kWake:
      if (!s.node || s.generation != e.generation || s.wake != e.when) return;
      s.wake = kNever;
      s.node->tick();
      reschedule(e.to);
      return;
    case EventKind::kJoin:
      if (!s.node || s.generation != e.generation) return;
      join(e.to, s.pending_join);
      return;
  }
}

void SimCluster::run_until(TimePoint t) {
  while (!events_.empty() && events_.top().when <= t) {
    const Event e = events_.top();
    events_.pop();
    if (e.when > clock_.now()) clock_.set(e.when);
    ++events_processed_;
    dispatch(e);
  }
  if (t > clock_.now()) clock_.set(t);
}

void SimCluster::run_for(Duration d) { run_until(clock_.now() + d); }

bool SimCluster::run_until(const std::function<bool()>& pred, Duration limit, Duration check_every) {
  const TimePoint end = clock_.now() + limit;
  while (clock_.now() < end) {
    if (pred()) return true;
    run_until(std::min(clock_.now() + check_every, end));
  }
  return pred();
}

// ------------------------------------------------------------- convergence

bool SimCluster::converged(bool allow_suspect) {
  size_t live = 0;
  for (size_t i = 0; i < slots_.size(); ++i) live += is_up(i) && !node(i).leaving();
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (is_up(i) && !node(i).leaving() && node(i).num_alive() != live) return false;
  }
  return disagreements(allow_suspect) == 0;
}

size_t SimCluster::disagreements(bool allow_suspect) {
  std::vector<std::string> names;
  names.reserve(slots_.size());
  for (size_t j = 0; j < slots_.size(); ++j) names.push_back(name_of(j));
  size_t bad = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!is_up(i) || node(i).leaving()) continue;
    Node& n = node(i);
    for (size_t j = 0; j < slots_.size(); ++j) {
      if (i == j) continue;
      const auto st = n.state_of(names[j]);
      const bool up = is_up(j) && !node(j).leaving();
      const bool seen_alive = st && (*st == MemberState::kAlive || (allow_suspect && *st == MemberState::kSuspect));
      if (up != seen_alive) ++bad;
    }
  }
  return bad;
}

}  // namespace ferry::gossip
