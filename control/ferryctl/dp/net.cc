// ferryctl dp net add --vni N [--flood] | net del --vni N | net flood --vni N on|off
#include "control/ferryctl/dp/dp.h"

namespace ferry::ctl::dp {

void add_net(CLI::App& dp, Options& options, Runner& runner) {
  auto* net = dp.add_subcommand("net", "networks (VNIs)");
  net->require_subcommand(1);

  struct Args {
    std::uint32_t vni = 0;
    bool flood = false;
    std::string state;
  };
  static Args args;

  auto* add = net->add_subcommand("add", "add a network");
  add->add_option("--vni", args.vni, "VXLAN network id, 1..16777215")->required();
  add->add_flag("--flood", args.flood, "flood unknown unicast (default: drop it)");
  add->callback([&options, &runner] {
    runner.action = [&options] { return call_and_report(options, dp_api::make_network_add(args.vni, args.flood)); };
  });

  auto* del = net->add_subcommand("del", "remove a network (its ports first)");
  del->add_option("--vni", args.vni, "VXLAN network id")->required();
  del->callback([&options, &runner] {
    runner.action = [&options] { return call_and_report(options, dp_api::make_network_del(args.vni)); };
  });

  auto* flood = net->add_subcommand("flood", "turn flooding of unknown unicast on or off");
  flood->add_option("--vni", args.vni, "VXLAN network id")->required();
  flood->add_option("state", args.state, "on or off")->required()->check(CLI::IsMember({"on", "off"}));
  flood->callback([&options, &runner] {
    runner.action = [&options] {
      return call_and_report(options, dp_api::make_network_set_flood(args.vni, args.state == "on"));
    };
  });
}

}  // namespace ferry::ctl::dp
