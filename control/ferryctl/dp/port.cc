// ferryctl dp port add --vni N --iface IF --mac MAC --ip ADDR/LEN... [--driver D] | port del --iface IF
#include "control/ferryctl/dp/dp.h"

namespace ferry::ctl::dp {

void add_port(CLI::App& dp, Options& options, Runner& runner) {
  auto* port = dp.add_subcommand("port", "endpoint ports (container veths)");
  port->require_subcommand(1);

  struct Args {
    std::uint32_t vni = 0;
    std::string iface;
    std::string mac;
    std::vector<std::string> ips;
    std::string driver;
  };
  static Args args;

  auto* add = port->add_subcommand("add", "attach the host end of a container's veth");
  add->add_option("--vni", args.vni, "network of the endpoint")->required();
  add->add_option("--iface", args.iface, "host-side interface name")->required();
  add->add_option("--mac", args.mac, "the container's MAC")->required();
  add->add_option("--ip", args.ips,
                  "the container's address, IPv4 A.B.C.D/LEN or IPv6 ADDR/LEN (repeatable, at most 4 per family)");
  add->add_option("--driver", args.driver, "port type: vnet, af_packet or af_xdp (default: the data plane's)")
      ->check(CLI::IsMember({"vnet", "af_packet", "af_xdp"}));
  add->callback([&options, &runner] {
    runner.action = [&options] {
      return call_and_report(options, dp_api::make_port_add(args.iface, args.vni, args.mac, args.ips, args.driver));
    };
  });

  auto* del = port->add_subcommand("del", "detach an endpoint port");
  del->add_option("--iface", args.iface, "host-side interface name")->required();
  del->callback([&options, &runner] {
    runner.action = [&options] { return call_and_report(options, dp_api::make_port_del(args.iface)); };
  });
}

}  // namespace ferry::ctl::dp
