#include "control/gossip/node_runner.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "control/gossip/counters.h"
#include "control/gossip/node.h"

namespace ferry::gossip {

namespace {

using nlohmann::json;

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

template <typename T>
Result<T> parse_number(std::string_view text, std::string_view what) {
  T v{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return make_error("{}: not a number: '{}'", what, text);
  return v;
}

std::string net_arg(std::string_view s) { return s == "-" ? std::string{} : std::string(s); }

json error_reply(const std::string& message) { return json{{"ok", false}, {"error", message}}; }

// Values may be binary: JSON gets them as-is when valid UTF-8, else base64.
json value_json(const std::string& v) {
  bool text = true;
  for (unsigned char c : v) {
    if (c < 0x20 || c >= 0x7f) {
      text = false;
      break;
    }
  }
  if (text) return v;
  std::string out(sodium_base64_ENCODED_LEN(v.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(v.data()), v.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return json{{"base64", out}};
}

}  // namespace

Result<void> RunnerOptions::validate() const {
  if (name.empty()) return make_error("--name is required");
  if (key_file.empty()) return make_error("--key-file is required (one base64 32-byte key per line)");
  if (auto r = gossip.validate(); !r) return r;
  if (auto r = tables.validate(); !r) return r;
  return net.validate();
}

std::string runner_usage() {
  return "usage: gossip_node --name NAME --bind IP:PORT --key-file PATH [--seeds IP:PORT[,IP:PORT...]]\n"
         "         [--join-net NET]... [--owner-grace-ms MS] [--network-sync-ms MS] [--push-pull-ms MS]\n"
         "         [--log-level trace|debug|info|warn|error|off] [--seed N]\n"
         "Control commands on stdin, one JSON reply per line on stdout (see node_runner.h).\n";
}

Result<RunnerOptions> parse_runner_args(std::span<char* const> args) {
  RunnerOptions o;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    if (i + 1 >= args.size()) return make_error("{} needs a value\n{}", flag, runner_usage());
    const std::string_view value = args[++i];
    if (flag == "--name") {
      o.name = value;
    } else if (flag == "--bind") {
      auto a = Address::parse(value);
      if (!a) return a.error().wrap("--bind");
      o.bind = *a;
    } else if (flag == "--seeds") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        auto a = Address::parse(rest.substr(0, comma));
        if (!a) return a.error().wrap("--seeds");
        o.seeds.push_back(*a);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
    } else if (flag == "--key-file") {
      o.key_file = value;
    } else if (flag == "--join-net") {
      o.networks.emplace_back(value);
    } else if (flag == "--owner-grace-ms") {
      auto n = parse_number<std::int64_t>(value, flag);
      if (!n) return n.error();
      o.tables.owner_grace = std::chrono::milliseconds(*n);
    } else if (flag == "--network-sync-ms") {
      auto n = parse_number<std::int64_t>(value, flag);
      if (!n) return n.error();
      o.tables.network_sync_interval = std::chrono::milliseconds(*n);
    } else if (flag == "--push-pull-ms") {
      auto n = parse_number<std::int64_t>(value, flag);
      if (!n) return n.error();
      o.gossip.push_pull_interval = std::chrono::milliseconds(*n);
    } else if (flag == "--log-level") {
      o.log_level = value;
    } else if (flag == "--seed") {
      auto n = parse_number<std::uint64_t>(value, flag);
      if (!n) return n.error();
      o.seed = *n;
    } else {
      return make_error("unknown flag {}\n{}", flag, runner_usage());
    }
  }
  o.net.bind = o.bind;
  o.net.stream_timeout = o.gossip.stream_timeout;
  o.net.envelope.max_frame_size = std::max(o.net.envelope.max_frame_size, o.gossip.max_stream_size + kEnvelopeOverhead);
  if (auto r = o.validate(); !r) return r.error();
  return o;
}

NodeRunner::NodeRunner(RunnerOptions options) : options_(std::move(options)) {}

NodeRunner::~NodeRunner() {
  if (node_) node_->set_delegate(nullptr);
  tables_.reset();
  node_.reset();
}

Result<std::unique_ptr<NodeRunner>> NodeRunner::create(RunnerOptions options) {
  if (auto r = options.validate(); !r) return r.error();
  std::unique_ptr<NodeRunner> r(new NodeRunner(std::move(options)));
  auto ring = Keyring::load(r->options_.key_file);
  if (!ring) return ring.error();
  r->keyring_ = std::move(*ring);
  auto transport = NetTransport::open(r->options_.net, r->keyring_, r->clock_);
  if (!transport) return transport.error().wrap("transport");
  r->transport_ = std::move(*transport);
  std::uint64_t seed = r->options_.seed;
  if (seed == 0) randombytes_buf(&seed, sizeof seed);
  r->node_ = std::make_unique<Node>(r->options_.gossip, r->options_.name, r->clock_, *r->transport_, seed);
  r->tables_ = std::make_unique<TableDb>(r->options_.tables, *r->node_, r->clock_, mix_seed(seed));
  r->transport_->set_handler(r->node_.get());
  r->node_->start();
  for (const std::string& net : r->options_.networks) {
    if (auto j = r->tables_->join_network(net); !j) return j.error().wrap("--join-net");
  }
  if (!r->options_.seeds.empty()) r->node_->join(r->options_.seeds);
  return r;
}

void NodeRunner::step() {
  const TimePoint deadline = node_->next_deadline();
  transport_->poll_once(deadline);
  if (clock_.now() >= node_->next_deadline()) node_->tick();
}

int NodeRunner::run(int control_fd, int reply_fd) {
  ::fcntl(control_fd, F_SETFL, ::fcntl(control_fd, F_GETFL, 0) | O_NONBLOCK);
  std::string pending;
  bool control_open = true;
  transport_->watch(control_fd, [&] {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(control_fd, buf, sizeof buf);
      if (n == 0) {
        control_open = false;
        break;
      }
      if (n < 0) break;
      pending.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      const std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      std::string reply = execute(line) + "\n";
      std::size_t off = 0;
      while (off < reply.size()) {
        const ssize_t w = ::write(reply_fd, reply.data() + off, reply.size() - off);
        if (w <= 0) break;
        off += static_cast<std::size_t>(w);
      }
    }
    if (!control_open) transport_->unwatch(control_fd);
  });
  while (!stop_.load()) {
    step();
    if (!control_open) {
      SPDLOG_INFO("{}: control channel closed, exiting", options_.name);
      break;
    }
    if (leaving_ && (node_->leave_drained() || clock_.now() >= leave_deadline_)) break;
  }
  transport_->unwatch(control_fd);
  return exit_code_;
}

std::string NodeRunner::execute(std::string_view line) {
  const auto w = split_words(line);
  if (w.empty()) return error_reply("empty command").dump(-1, ' ', false, json::error_handler_t::replace);
  const std::string_view cmd = w[0];
  auto need = [&](std::size_t n) { return w.size() == n + 1; };
  json out{{"ok", true}};
  if (cmd == "put" && need(4)) {
    if (auto r = tables_->put(net_arg(w[1]), std::string(w[2]), std::string(w[3]), std::string(w[4])); !r) {
      return error_reply(r.error().message).dump(-1, ' ', false, json::error_handler_t::replace);
    }
  } else if (cmd == "bulk-put" && need(5)) {
    auto n = parse_number<std::size_t>(w[4], "count");
    if (!n) return error_reply(n.error().message).dump(-1, ' ', false, json::error_handler_t::replace);
    for (std::size_t i = 0; i < *n; ++i) {
      if (auto r = tables_->put(net_arg(w[1]), std::string(w[2]), fmt::format("{}{}", w[3], i), std::string(w[5]));
          !r) {
        return error_reply(r.error().message).dump(-1, ' ', false, json::error_handler_t::replace);
      }
    }
    out["written"] = *n;
  } else if (cmd == "del" && need(3)) {
    if (auto r = tables_->remove(net_arg(w[1]), std::string(w[2]), std::string(w[3])); !r) {
      return error_reply(r.error().message).dump(-1, ' ', false, json::error_handler_t::replace);
    }
  } else if (cmd == "join-net" && need(1)) {
    if (auto r = tables_->join_network(std::string(w[1])); !r) {
      return error_reply(r.error().message).dump(-1, ' ', false, json::error_handler_t::replace);
    }
  } else if (cmd == "leave-net" && need(1)) {
    if (auto r = tables_->leave_network(std::string(w[1])); !r) {
      return error_reply(r.error().message).dump(-1, ' ', false, json::error_handler_t::replace);
    }
  } else if (cmd == "get" && need(3)) {
    auto v = tables_->get(net_arg(w[1]), std::string(w[2]), std::string(w[3]));
    out["value"] = v ? value_json(*v) : json(nullptr);
  } else if (cmd == "count" && w.size() <= 3) {
    std::size_t live = 0, stored = 0;
    const bool by_net = w.size() >= 2, by_table = w.size() >= 3;
    tables_->store().for_each([&](const TableKey& k, const StoredEntry& e) {
      if (by_net && k.network != net_arg(w[1])) return;
      if (by_table && k.table != w[2]) return;
      if (k.table == TableDb::kAttachTable && !by_table) return;
      ++stored;
      live += e.live() ? 1 : 0;
    });
    out["live"] = live;
    out["stored"] = stored;
  } else if (cmd == "dump" && w.size() <= 2) {
    json entries = json::array();
    tables_->store().for_each([&](const TableKey& k, const StoredEntry& e) {
      if (w.size() == 2 && k.network != net_arg(w[1])) return;
      if (!e.live()) return;
      entries.push_back({{"network", k.network},
                         {"table", k.table},
                         {"key", k.key},
                         {"value", value_json(e.version.value)},
                         {"owner", e.version.owner},
                         {"lamport", e.version.lamport}});
    });
    out["entries"] = std::move(entries);
  } else if (cmd == "members" && need(0)) {
    json members = json::array();
    for (const MemberInfo& m : node_->members()) {
      members.push_back({{"name", m.name},
                         {"address", m.address.to_string()},
                         {"state", to_string(m.state)},
                         {"incarnation", m.incarnation}});
    }
    out["members"] = std::move(members);
    out["alive"] = node_->num_alive();
  } else if (cmd == "stats" && need(0)) {
    json node_counters, table_counters, net_counters, drops;
    for (std::size_t i = 0; i < kCounterNames.size(); ++i) {
      node_counters[kCounterNames[i]] = node_->counters().values[i];
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(TablesCounter::kCount); ++i) {
      table_counters[tables_counter_name(static_cast<TablesCounter>(i))] =
          tables_->counter(static_cast<TablesCounter>(i));
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(NetCounter::kCount); ++i) {
      net_counters[net_counter_name(static_cast<NetCounter>(i))] = transport_->counter(static_cast<NetCounter>(i));
    }
    const EnvelopeStats& es = transport_->envelope_stats();
    for (std::size_t i = 0; i < es.drops.size(); ++i) {
      drops[envelope_drop_name(static_cast<EnvelopeDrop>(i))] = es.drops[i];
    }
    out["node"] = std::move(node_counters);
    out["tables"] = std::move(table_counters);
    out["transport"] = std::move(net_counters);
    out["envelope"] = {{"sealed", es.sealed}, {"opened", es.opened}, {"drops", std::move(drops)}};
    out["lamport"] = tables_->lamport();
  } else if ((cmd == "key-install" || cmd == "key-use" || cmd == "key-remove") && need(1)) {
    auto key = Keyring::decode(w[1]);
    if (!key) return error_reply(key.error().message).dump(-1, ' ', false, json::error_handler_t::replace);
    const KeyId id = Keyring::id_of(*key);
    Result<void> r = cmd == "key-install" ? keyring_.install(*key)
                     : cmd == "key-use"   ? keyring_.use(id)
                                          : keyring_.remove(id);
    if (!r) return error_reply(r.error().message).dump(-1, ' ', false, json::error_handler_t::replace);
    out["key_id"] = fmt::format("{:08x}", id);
  } else if (cmd == "keys" && need(0)) {
    json ids = json::array();
    for (KeyId id : keyring_.ids()) ids.push_back(fmt::format("{:08x}", id));
    out["keys"] = std::move(ids);  // primary first
  } else if (cmd == "leave" && need(0)) {
    node_->leave();
    leaving_ = true;
    leave_deadline_ = clock_.now() + std::chrono::seconds(3);
  } else if (cmd == "quit" && need(0)) {
    stop();
  } else {
    return error_reply(fmt::format("unknown command or wrong arguments: '{}'", line))
        .dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ferry::gossip
