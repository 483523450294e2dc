// ferryctl members | networks | endpoints | peers | ipam | status [--json]
#include <iostream>

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
           {"name", "network", "ip", "ip6", "mac", "mtu", "host_ifname", "port", "netns"});
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
