// ferryctl members | networks | endpoints | peers | ipam | status |
// plugin-calls [--json]
#include <fmt/format.h>

#include <ctime>
#include <iostream>
#include <memory>

#include "control/ferryctl/agent/agent.h"
#include "control/ferryctl/table.h"

namespace ferry::ctl::agent {

namespace {

std::string cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

// One list command: `op` returns {op: [objects]}; `columns` picks the fields.
void add_list(CLI::App& app, Options& options, Runner& runner, const std::string& op, const std::string& help,
              const std::vector<std::string>& columns) {
  auto* cmd = app.add_subcommand(op, help);
  add_common(*cmd, options, true);
  cmd->callback([&options, &runner, op, columns] {
    runner.action = [&options, op, columns] {
      nlohmann::json reply;
      if (int rc = call(options, {{"op", op}}, reply); rc != kExitOk) return rc;
      if (options.json) {
        std::cout << reply.at(op).dump(2) << '\n';
        return static_cast<int>(kExitOk);
      }
      Table table(columns);
      for (const auto& row : reply.at(op)) {
        std::vector<std::string> cells;
        cells.reserve(columns.size());
        for (const auto& c : columns) cells.push_back(row.contains(c) ? cell(row.at(c)) : "-");
        table.add_row(std::move(cells));
      }
      table.print(std::cout);
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace

void add_show_commands(CLI::App& app, Options& options, Runner& runner) {
  add_list(app, options, runner, "members", "gossip members and their state",
           {"name", "address", "state", "incarnation"});
  add_list(app, options, runner, "networks", "cluster networks",
           {"name", "vni", "subnet", "subnet6", "owner", "endpoints", "state"});
  add_list(app, options, runner, "endpoints", "this host's endpoints",
           {"name", "network", "ip", "ip6", "mac", "mtu", "host_ifname", "port", "owner", "netns"});
  add_list(app, options, runner, "peers", "remote endpoints per network (what the data plane learns)",
           {"network", "vni", "host", "vtep", "mac", "ip", "ip6", "endpoint"});
  auto* ipam = app.add_subcommand("ipam", "address space per network: what each host owns, what this host uses");
  add_common(*ipam, options, true);
  ipam->callback([&options, &runner] {
    runner.action = [&options] {
      nlohmann::json reply;
      if (int rc = call(options, {{"op", "ipam"}}, reply); rc != kExitOk) return rc;
      reply.erase("ok");
      if (options.json) {
        std::cout << reply.dump(2) << '\n';
        return static_cast<int>(kExitOk);
      }
      // One row per network and owner; this host's row adds what it
      // allocated and can still allocate without asking another host.
      const std::string self = reply.value("node", "");
      Table table({"network", "subnet", "host", "owned", "allocated", "free"});
      for (const auto& p : reply.at("pools")) {
        for (const auto& h : p.at("hosts")) {
          const bool me = h.value("host", "") == self;
          table.add_row({p.value("network", ""), p.value("subnet", ""),
                         h.value("host", "") + (me ? " (this host)" : ""), cell(h.at("addresses")),
                         me ? cell(p.at("allocated")) : "-", me ? cell(p.at("free")) : "-"});
        }
      }
      table.print(std::cout);
      if (reply.value("fenced", false)) {
        std::cout << "FENCED: no majority of the cluster in sight; new allocations are refused\n";
      }
      for (const auto& c : reply.at("conflicts")) {
        std::cout << "CONFLICT: network " << c.value("network", "") << " address " << c.value("address", "")
                  << " is in space now owned by " << c.value("new_owner", "") << '\n';
      }
      return static_cast<int>(kExitOk);
    };
  });
  // What dockerd sent to the plugin and what it got back, oldest first.
  struct CallsArgs {
    int limit = 0;
    bool full = false;
  };
  auto args = std::make_shared<CallsArgs>();
  auto* calls = app.add_subcommand("plugin-calls", "the latest Docker plugin calls: what dockerd sent, what it got");
  add_common(*calls, options, true);
  calls->add_option("-n,--limit", args->limit, "only the latest N calls (default: all the agent keeps, 256)");
  calls->add_flag("--full", args->full, "whole bodies (default: cut to 200 characters)");
  calls->callback([&options, &runner, args] {
    runner.action = [&options, args] {
      nlohmann::json reply;
      nlohmann::json request = {{"op", "plugin-calls"}};
      if (args->limit > 0) request["limit"] = args->limit;
      if (int rc = call(options, request, reply); rc != kExitOk) return rc;
      if (options.json) {
        std::cout << reply.at("plugin-calls").dump(2) << '\n';
        return static_cast<int>(kExitOk);
      }
      const auto shown = [&](const std::string& body) {
        constexpr std::size_t kCut = 200;
        if (args->full || body.size() <= kCut) return body;
        return body.substr(0, kCut) + "...";
      };
      for (const auto& c : reply.at("plugin-calls")) {
        const auto ms = c.value("time", std::int64_t{0});
        const std::time_t secs = ms / 1000;
        std::tm tm{};
        gmtime_r(&secs, &tm);
        std::cout << fmt::format("#{} {:02}:{:02}:{:02}.{:03}Z {} -> {} ({:.1f} ms)\n", c.value("seq", 0), tm.tm_hour,
                                 tm.tm_min, tm.tm_sec, ms % 1000, c.value("method", ""), c.value("status", 0),
                                 static_cast<double>(c.value("micros", 0)) / 1000.0);
        const std::string req = c.value("request", "");
        if (!req.empty()) std::cout << "  > " << shown(req) << '\n';
        std::cout << "  < " << shown(c.value("reply", "")) << '\n';
      }
      return static_cast<int>(kExitOk);
    };
  });
  auto* st = app.add_subcommand("status", "agent and data-plane reconciliation status (JSON)");
  add_common(*st, options, false);
  st->callback([&options, &runner] {
    runner.action = [&options] {
      nlohmann::json reply;
      if (int rc = call(options, {{"op", "status"}}, reply); rc != kExitOk) return rc;
      reply.erase("ok");
      std::cout << reply.dump(2) << '\n';
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace ferry::ctl::agent
