// ferryctl dp port add --vni N --iface IF --mac MAC --ip ADDR/LEN... [--driver D] | port del --iface IF
#include <iostream>

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
      v1::Request request;
      auto* m = request.mutable_port_add();
      m->set_vni(args.vni);
      m->set_iface(args.iface);
      m->set_mac(args.mac);
      for (const auto& ip : args.ips) {
        m->add_ips(ip);
      }
      m->set_driver(args.driver);
      return call_and_report(options, std::move(request));
    };
  });

  auto* del = port->add_subcommand("del", "detach an endpoint port");
  del->add_option("--iface", args.iface, "host-side interface name")->required();
  del->callback([&options, &runner] {
    runner.action = [&options] {
      v1::Request request;
      request.mutable_port_del()->set_iface(args.iface);
      return call_and_report(options, std::move(request));
    };
  });
}

}  // namespace ferry::ctl::dp
