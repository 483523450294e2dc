// ferry-bench gossip: the membership layer under simulation at N nodes with
// the default (LAN) configuration. Reports how fast a broadcast reaches the
// cluster, how fast a crash is detected everywhere, false failure
// declarations, and background traffic. See docs/gossip.md.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/command.h"
#include "control/gossip/broadcast_queue.h"
#include "control/gossip/sim_cluster.h"
#include "control/gossip/table_db.h"

namespace ferry::bench {
namespace {

using namespace std::chrono_literals;
using gossip::Bytes;
using gossip::Duration;
using gossip::MemberInfo;
using gossip::MemberState;
using gossip::Node;
using gossip::SimCluster;
using gossip::TimePoint;

struct Options {
  size_t nodes = 1000;
  double loss = 0.0;
  uint64_t seed = 1;
  bool json = false;
  bool real_join = false;
  size_t crashes = 0;   // 0: max(1, min(10, N / 100))
  bool tables = false;  // measure a real table entry (TableDb) instead of a bare delegate broadcast
};

// Shared observations of every node's delegate.
struct Observations {
  explicit Observations(size_t n) : got_update(n, kUnset), dead_seen(n, 0) {}
  static constexpr int64_t kUnset = -1;
  TimePoint origin{};
  std::vector<int64_t> got_update;  // ns after origin, per node
  std::vector<uint32_t> dead_seen;  // per subject: observers that declared it dead
  std::vector<int64_t> all_dead_at;
  std::vector<char> crashed;
  uint64_t false_dead = 0;
};

// One per node: carries the single test broadcast (re-gossiped by every
// receiver, the way table events spread) and records membership events.
// In --tables mode it forwards every hook to the node's TableDb instead and
// only observes.
class BenchDelegate final : public gossip::Delegate {
 public:
  BenchDelegate(size_t index, Observations& obs, SimCluster& sim) : index_(index), obs_(obs), sim_(sim) {}
  void attach(Node* node, gossip::TableDb* tables) {
    node_ = node;
    tables_ = tables;
  }

  void inject(std::string payload) {
    obs_.got_update[index_] = 0;
    queue_.queue("u", std::move(payload));
  }
  void mark_updated() {
    if (obs_.got_update[index_] == Observations::kUnset) obs_.got_update[index_] = (sim_.now() - obs_.origin).count();
  }

  void get_broadcasts(size_t overhead, size_t budget, std::vector<std::string>& out) override {
    if (tables_ != nullptr) return tables_->get_broadcasts(overhead, budget, out);
    if (queue_.empty()) return;
    queue_.get(overhead, budget, node_->retransmit_limit(), out);
  }
  void notify_user_msg(std::string_view from, Bytes payload) override {
    if (tables_ != nullptr) return tables_->notify_user_msg(from, payload);
    if (obs_.got_update[index_] != Observations::kUnset) return;
    obs_.got_update[index_] = (sim_.now() - obs_.origin).count();
    queue_.queue("u", std::string(reinterpret_cast<const char*>(payload.data()), payload.size()));
  }
  std::string local_state(bool join) override { return tables_ != nullptr ? tables_->local_state(join) : ""; }
  void merge_remote_state(Bytes state, bool join) override {
    if (tables_ != nullptr) tables_->merge_remote_state(state, join);
  }
  std::string handle_user_request(std::string_view from, Bytes request) override {
    return tables_ != nullptr ? tables_->handle_user_request(from, request) : "";
  }
  void notify_user_response(uint64_t id, const Result<std::string>& response) override {
    if (tables_ != nullptr) tables_->notify_user_response(id, response);
  }
  void notify_join(const MemberInfo& info) override {
    if (tables_ != nullptr) tables_->notify_join(info);
  }
  void notify_update(const MemberInfo& info) override {
    if (tables_ != nullptr) tables_->notify_update(info);
  }
  void notify_leave(const MemberInfo& info) override {
    if (tables_ != nullptr) tables_->notify_leave(info);
    if (info.state != MemberState::kDead) return;
    const size_t j = std::strtoul(info.name.c_str() + 5, nullptr, 10);  // "node-<j>"
    if (j >= obs_.crashed.size()) return;
    if (!obs_.crashed[j]) {
      ++obs_.false_dead;
      return;
    }
    ++obs_.dead_seen[j];
  }
  [[nodiscard]] TimePoint next_deadline() const override {
    return tables_ != nullptr ? tables_->next_deadline() : gossip::kNever;
  }
  void tick(TimePoint now) override {
    if (tables_ != nullptr) tables_->tick(now);
  }

 private:
  size_t index_;
  Observations& obs_;
  SimCluster& sim_;
  Node* node_ = nullptr;
  gossip::TableDb* tables_ = nullptr;
  gossip::BroadcastQueue queue_;
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--nodes") {
      const char* v = next();
      if (!v) return false;
      o.nodes = std::strtoul(v, nullptr, 10);
    } else if (a == "--loss") {
      const char* v = next();
      if (!v) return false;
      o.loss = std::strtod(v, nullptr);
    } else if (a == "--seed") {
      const char* v = next();
      if (!v) return false;
      o.seed = std::strtoull(v, nullptr, 0);
    } else if (a == "--crashes") {
      const char* v = next();
      if (!v) return false;
      o.crashes = std::strtoul(v, nullptr, 10);
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--join") {
      o.real_join = true;
    } else if (a == "--tables") {
      o.tables = true;
    } else {
      return false;
    }
  }
  return o.nodes >= 2 && o.loss >= 0 && o.loss < 1;
}

double ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

int run_gossip(int argc, char** argv) {
  Options opt;
  if (!parse(argc, argv, opt)) {
    std::fprintf(stderr,
                 "usage: ferry-bench gossip [--nodes N (1000)] [--loss P (0)] [--seed S (1)] [--crashes K]\n"
                 "                          [--join] [--tables] [--json]\n"
                 "  --join     start with real joins through node 0 instead of converged membership\n"
                 "  --tables   the update is a real table entry (TableDb put) instead of a delegate broadcast\n"
                 "  --crashes  nodes crashed for detect_all_ms (default max(1, min(10, N/100)))\n");
    return 2;
  }
  const auto wall_start = std::chrono::steady_clock::now();
  const size_t n = opt.nodes;
  gossip::Config config;  // LAN defaults
  gossip::SimNetConfig net;
  net.loss = opt.loss;
  SimCluster sim(config, net, opt.seed);
  Observations obs(n);
  obs.crashed.assign(n, 0);
  std::vector<std::unique_ptr<BenchDelegate>> delegates;
  std::vector<std::unique_ptr<gossip::TableDb>> tables(n);
  delegates.reserve(n);
  for (size_t i = 0; i < n; ++i) delegates.push_back(std::make_unique<BenchDelegate>(i, obs, sim));
  sim.set_node_hook([&](size_t i, Node& node) {
    if (opt.tables) {
      tables[i] = std::make_unique<gossip::TableDb>(gossip::TablesConfig{}, node, sim.clock(),
                                                    gossip::mix_seed(opt.seed ^ (0x7ab1eULL + i)));
      BenchDelegate* d = delegates[i].get();
      tables[i]->subscribe(gossip::TableFilter{}, [d](const gossip::Change& c) {
        if (c.key.table == "bench" && c.kind != gossip::ChangeKind::kDelete) d->mark_updated();
      });
    }
    delegates[i]->attach(&node, tables[i].get());
    node.set_delegate(delegates[i].get());
  });
  sim.add_nodes(n);
  if (opt.real_join) {
    sim.join_all(0, std::chrono::seconds(std::max<size_t>(5, n / 200)));
    if (!sim.run_until([&] { return sim.converged(); }, 300s, 1s)) {
      std::fprintf(stderr, "ferry-bench gossip: membership did not converge (seed %lu)\n",
                   static_cast<unsigned long>(opt.seed));
      return 1;
    }
  } else {
    sim.bootstrap_converged();
  }
  // Warm up past every node's first push-pull (30-60 s after start; later
  // ones run at random phases of the scaled period), then measure the
  // background traffic over a steady window.
  sim.run_for(65s);
  uint64_t bytes0 = 0;
  for (size_t i = 0; i < n; ++i) bytes0 += sim.bytes_sent(i);
  constexpr auto kWindow = 30s;
  sim.run_for(kWindow);
  uint64_t bytes1 = 0;
  for (size_t i = 0; i < n; ++i) bytes1 += sim.bytes_sent(i);
  const double bytes_per_node_s =
      static_cast<double>(bytes1 - bytes0) / static_cast<double>(n) / std::chrono::duration<double>(kWindow).count();

  // 1. One broadcast from node 0 to everyone.
  obs.origin = sim.now();
  if (opt.tables) {
    obs.got_update[0] = 0;
    if (auto r = tables[0]->put("", "bench", "endpoint-1", "10.0.0.1/24 02:42:0a:00:00:01"); !r) {
      std::fprintf(stderr, "ferry-bench gossip: put failed: %s\n", r.error().message.c_str());
      return 1;
    }
    sim.reschedule(0);
  } else {
    delegates[0]->inject("update-1");
  }
  auto count_updated = [&] {
    return static_cast<size_t>(
        std::count_if(obs.got_update.begin(), obs.got_update.end(), [](int64_t t) { return t >= 0; }));
  };
  sim.run_until([&] { return count_updated() == n; }, 60s, 10ms);
  std::vector<int64_t> times;
  for (int64_t t : obs.got_update) {
    if (t >= 0) times.push_back(t);
  }
  std::sort(times.begin(), times.end());
  const bool update_complete = times.size() == n;
  const size_t p999_index = static_cast<size_t>(std::ceil(0.999 * static_cast<double>(n))) - 1;
  const double update_p999 = p999_index < times.size() ? ms(times[p999_index]) : -1;
  const double update_all = update_complete ? ms(times.back()) : -1;

  // 2. Crash K nodes at once; time until every survivor declared each dead.
  sim.run_for(5s);  // let the broadcast drain
  const size_t k = opt.crashes ? std::min(opt.crashes, n - 1) : std::max<size_t>(1, std::min<size_t>(10, n / 100));
  std::vector<size_t> victims;
  gossip::Rng pick(gossip::mix_seed(opt.seed ^ 0xdeadULL));
  while (victims.size() < k) {
    const size_t v = 1 + pick.below(n - 1);
    if (!obs.crashed[v]) {
      obs.crashed[v] = 1;
      victims.push_back(v);
    }
  }
  const TimePoint crash_at = sim.now();
  for (size_t v : victims) sim.crash(v);
  const uint32_t survivors = static_cast<uint32_t>(n - k);
  TimePoint all_detected = gossip::kNever;
  sim.run_until(
      [&] {
        for (size_t v : victims) {
          if (obs.dead_seen[v] < survivors) return false;
        }
        all_detected = sim.now();
        return true;
      },
      120s, 10ms);
  const double detect_all = all_detected == gossip::kNever ? -1 : ms((all_detected - crash_at).count());
  // Keep running a while to catch late false declarations.
  sim.run_for(10s);

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  // Nodes go before the TableDbs they call into.
  for (size_t i = 0; i < n; ++i) {
    if (sim.is_up(i)) sim.node(i).set_delegate(nullptr);
  }
  if (opt.json) {
    std::printf(
        "{\"nodes\": %zu, \"update_kind\": \"%s\", \"loss\": %.3f, \"seed\": %lu, \"update_p999_ms\": %.1f, "
        "\"update_all_ms\": %.1f, "
        "\"detect_all_ms\": %.1f, \"crashed\": %zu, \"false_dead\": %lu, \"bytes_per_node_s\": %.0f, "
        "\"sim_seconds\": %.1f, \"wall_seconds\": %.1f, \"events\": %lu}\n",
        n, opt.tables ? "table_entry" : "delegate_broadcast", opt.loss, static_cast<unsigned long>(opt.seed),
        update_p999, update_all, detect_all, k, static_cast<unsigned long>(obs.false_dead), bytes_per_node_s,
        std::chrono::duration<double>(sim.now() - TimePoint{} - 1h).count(), wall,
        static_cast<unsigned long>(sim.events_processed()));
  } else {
    std::printf("gossip simulation: %zu nodes, loss %.1f%%, seed %lu (LAN config), update = %s\n", n, opt.loss * 100,
                static_cast<unsigned long>(opt.seed), opt.tables ? "table entry" : "delegate broadcast");
    std::printf("  update known to 99.9%%   %8.1f ms\n", update_p999);
    std::printf("  update known to all     %8.1f ms\n", update_all);
    std::printf("  crash detected by all   %8.1f ms  (%zu crashed)\n", detect_all, k);
    std::printf("  false dead declarations %8lu\n", static_cast<unsigned long>(obs.false_dead));
    std::printf("  background traffic      %8.0f bytes/node/s\n", bytes_per_node_s);
    std::printf("  wall time %.1f s, %lu events\n", wall, static_cast<unsigned long>(sim.events_processed()));
  }
  return update_complete && detect_all >= 0 ? 0 : 1;
}

}  // namespace

FERRY_BENCH_COMMAND(gossip, "SWIM membership simulation: dissemination, detection, traffic", run_gossip);

}  // namespace ferry::bench
