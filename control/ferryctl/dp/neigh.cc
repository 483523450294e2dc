// ferryctl dp neigh add --vni N --ip IP --mac MAC | neigh del --vni N --ip IP (IP: IPv4 or IPv6)
#include "control/ferryctl/dp/dp.h"

namespace ferry::ctl::dp {

void add_neigh(CLI::App& dp, Options& options, Runner& runner) {
  auto* neigh = dp.add_subcommand("neigh", "neighbour entries (IP -> MAC, ARP and ND answered locally)");
  neigh->require_subcommand(1);

  struct Args {
    std::uint32_t vni = 0;
    std::string ip;
    std::string mac;
  };
  static Args args;

  auto* add = neigh->add_subcommand("add", "add or replace a neighbour entry");
  add->add_option("--vni", args.vni, "network")->required();
  add->add_option("--ip", args.ip, "IPv4 or IPv6 address")->required();
  add->add_option("--mac", args.mac, "its MAC")->required();
  add->callback([&options, &runner] {
    runner.action = [&options] {
      return call_and_report(options, dp_api::make_neigh_add(args.vni, args.ip, args.mac));
    };
  });

  auto* del = neigh->add_subcommand("del", "remove a neighbour entry");
  del->add_option("--vni", args.vni, "network")->required();
  del->add_option("--ip", args.ip, "IPv4 or IPv6 address")->required();
  del->callback([&options, &runner] {
    runner.action = [&options] { return call_and_report(options, dp_api::make_neigh_del(args.vni, args.ip)); };
  });
}

}  // namespace ferry::ctl::dp
