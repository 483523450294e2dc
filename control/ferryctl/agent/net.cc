// ferryctl net create NAME --subnet CIDR [--subnet6 CIDR6] [--vni N] | net rm NAME
#include <iostream>

#include "control/ferryctl/agent/agent.h"

namespace ferry::ctl::agent {

namespace {
struct NetArgs {
  std::string name;
  std::string subnet;
  std::string subnet6;
  std::uint32_t vni = 0;
};
}  // namespace

void add_net_command(CLI::App& app, Options& options, Runner& runner) {
  static NetArgs args;  // lives as long as the CLI (main's scope)
  auto* net = app.add_subcommand("net", "create or remove cluster networks");
  net->require_subcommand(1);
  auto* create = net->add_subcommand("create", "create a network on every host (gossiped)");
  create->add_option("name", args.name, "network name")->required();
  create->add_option("--subnet", args.subnet, "IPv4 subnet, e.g. 10.10.0.0/24")->required();
  create->add_option("--subnet6", args.subnet6, "optional IPv6 subnet, /48../126, e.g. fd00:10::/64");
  create->add_option("--vni", args.vni, "VXLAN network identifier (default: derived from the name)")
      ->check(CLI::Range(1, (1 << 24) - 1));
  add_common(*create, options, true);
  create->callback([&options, &runner] {
    runner.action = [&options] {
      nlohmann::json req{{"op", "net-create"}, {"name", args.name}, {"subnet", args.subnet}};
      if (args.vni != 0) req["vni"] = args.vni;
      if (!args.subnet6.empty()) req["subnet6"] = args.subnet6;
      nlohmann::json reply;
      if (int rc = call(options, req, reply); rc != kExitOk) return rc;
      if (options.json) {
        std::cout << reply.dump(2) << '\n';
      } else {
        const auto& n = reply.at("network");
        std::cout << "network " << n.at("name").get<std::string>() << ": VNI " << n.at("vni").get<std::uint32_t>()
                  << ", subnet " << n.at("subnet").get<std::string>()
                  << (n.value("subnet6", "").empty() ? "" : " " + n.value("subnet6", ""))
                  << (reply.value("created", false) ? "" : " (already existed)") << '\n';
      }
      return static_cast<int>(kExitOk);
    };
  });
  auto* rm = net->add_subcommand("rm", "remove a network (no endpoints left; on the host that created it)");
  rm->add_option("name", args.name, "network name")->required();
  add_common(*rm, options, false);
  rm->callback([&options, &runner] {
    runner.action = [&options] {
      nlohmann::json reply;
      if (int rc = call(options, {{"op", "net-rm"}, {"name", args.name}}, reply); rc != kExitOk) return rc;
      std::cout << "network " << args.name << " removed\n";
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace ferry::ctl::agent
