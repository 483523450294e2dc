// ferryctl attach --net NAME --netns PATH [--ip A] [--ip6 A6] [--name N] | detach NAME
#include <iostream>

#include "control/ferryctl/agent/agent.h"

namespace ferry::ctl::agent {

namespace {
struct AttachArgs {
  std::string net;
  std::string netns;
  std::string ip;
  std::string ip6;
  std::string name;
};
}  // namespace

void add_attach_commands(CLI::App& app, Options& options, Runner& runner) {
  static AttachArgs args;
  auto* attach = app.add_subcommand("attach", "wire a network namespace into a cluster network (no Docker needed)");
  attach->add_option("--net", args.net, "cluster network")->required();
  attach->add_option("--netns", args.netns, "namespace path (/var/run/netns/NAME, /proc/PID/ns/net)")->required();
  attach->add_option("--ip", args.ip, "IPv4 address (default: the next free one of this host's part)");
  attach->add_option(
      "--ip6", args.ip6,
      "IPv6 address, for a network with an IPv6 subnet (default: the next free one of this host's part)");
  attach->add_option("--name", args.name, "endpoint name (default: the namespace's file name)");
  add_common(*attach, options, true);
  attach->callback([&options, &runner] {
    runner.action = [&options] {
      nlohmann::json req{{"op", "attach"}, {"net", args.net}, {"netns", args.netns}};
      if (!args.ip.empty()) req["ip"] = args.ip;
      if (!args.ip6.empty()) req["ip6"] = args.ip6;
      if (!args.name.empty()) req["name"] = args.name;
      nlohmann::json reply;
      if (int rc = call(options, req, reply); rc != kExitOk) return rc;
      if (options.json) {
        std::cout << reply.dump(2) << '\n';
      } else {
        const auto& e = reply.at("endpoint");
        const std::string ip6 = e.value("ip6", "");
        std::cout << "endpoint " << e.at("name").get<std::string>() << ": " << e.at("ip").get<std::string>() << " "
                  << (ip6.empty() ? "" : ip6 + " ") << e.at("mac").get<std::string>() << ", MTU " << e.value("mtu", 0U)
                  << (reply.value("created", false) ? "" : " (already attached)") << '\n';
      }
      return static_cast<int>(kExitOk);
    };
  });
  auto* detach = app.add_subcommand("detach", "unwire an endpoint made by attach");
  detach->add_option("name", args.name, "endpoint name")->required();
  add_common(*detach, options, false);
  detach->callback([&options, &runner] {
    runner.action = [&options] {
      nlohmann::json reply;
      if (int rc = call(options, {{"op", "detach"}, {"name", args.name}}, reply); rc != kExitOk) return rc;
      std::cout << "endpoint " << args.name << " detached\n";
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace ferry::ctl::agent
