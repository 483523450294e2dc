// ferryctl members | networks | endpoints | peers | status [--json]
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
           {"name", "vni", "subnet", "owner", "endpoints", "state"});
  add_list(app, options, runner, "endpoints", "this host's endpoints",
           {"name", "network", "ip", "mac", "host_ifname", "port", "netns"});
  add_list(app, options, runner, "peers", "remote endpoints per network (what the data plane learns)",
           {"network", "vni", "host", "vtep", "mac", "ip", "endpoint"});
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
