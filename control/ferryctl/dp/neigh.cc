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
      v1::Request request;
      auto* m = request.mutable_neigh_add();
      m->set_vni(args.vni);
      m->set_ip(args.ip);
      m->set_mac(args.mac);
      return call_and_report(options, std::move(request));
    };
  });

  auto* del = neigh->add_subcommand("del", "remove a neighbour entry");
  del->add_option("--vni", args.vni, "network")->required();
  del->add_option("--ip", args.ip, "IPv4 or IPv6 address")->required();
  del->callback([&options, &runner] {
    runner.action = [&options] {
      v1::Request request;
      request.mutable_neigh_del()->set_vni(args.vni);
      request.mutable_neigh_del()->set_ip(args.ip);
      return call_and_report(options, std::move(request));
    };
  });
}

}  // namespace ferry::ctl::dp
