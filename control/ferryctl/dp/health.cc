// ferryctl dp health [--json]: is it up, since when, which uplink. Exit 0 when healthy.
#include <iostream>
#include <nlohmann/json.hpp>

#include "control/ferryctl/dp/dp.h"
#include "control/ferryctl/table.h"
#include "dataplane/api/port_types.h"

namespace ferry::ctl::dp {

void add_health(CLI::App& dp, Options& options, Runner& runner) {
  static bool json = false;
  auto* health = dp.add_subcommand("health", "liveness, boot id, uplink state and version");
  health->add_flag("--json", json, "print JSON");
  health->callback([&options, &runner] {
    runner.action = [&options] {
      dp_api::Reply reply;
      if (const int code = call(options, dp_api::HealthCmd{}, reply); code != kExitOk) {
        return code;
      }
      dp_api::Reply version_reply;
      if (const int code = call(options, dp_api::VersionCmd{}, version_reply); code != kExitOk) {
        return code;
      }
      const dp_api::Health no_health;
      const dp_api::Version no_version;
      const dp_api::Health& h = reply.get<dp_api::Health>() != nullptr ? *reply.get<dp_api::Health>() : no_health;
      const dp_api::Version& v =
          version_reply.get<dp_api::Version>() != nullptr ? *version_reply.get<dp_api::Version>() : no_version;
      const std::string vtep_ip = h.vtep_ip ? dp_api::format_ipv4_prefix(*h.vtep_ip) : std::string();
      const std::string gateway = h.gateway ? dp_api::format_ipv4(*h.gateway) : std::string();
      if (json) {
        nlohmann::json out{{"boot_id", h.boot_id},
                           {"start_time_unix_ms", h.start_time_unix_ms},
                           {"uptime_ms", h.uptime_ms},
                           {"uplink", h.uplink},
                           {"uplink_driver", h.uplink_driver},
                           {"uplink_link_up", h.uplink_link_up},
                           {"vtep_ip", vtep_ip},
                           {"gateway", gateway},
                           {"workers", h.workers},
                           {"ports", h.ports},
                           {"networks", h.networks},
                           {"pid", h.pid},
                           {"underlay_mtu", h.underlay_mtu},
                           {"endpoint_mtu", h.endpoint_mtu},
                           {"endpoint_driver", h.endpoint_driver},
                           {"container_offloads", dp_api::container_keeps_offloads(h.endpoint_driver)},
                           {"version", v.software},
                           {"api_version", v.api_version},
                           {"dpdk", v.dpdk}};
        std::cout << out.dump(2) << '\n';
        return static_cast<int>(kExitOk);
      }
      Table table({"field", "value"});
      table.add_row({"status", "ok"});
      table.add_row({"boot-id", h.boot_id});
      table.add_row({"pid", std::to_string(h.pid)});
      table.add_row({"uptime", std::to_string(h.uptime_ms / 1000) + " s"});
      table.add_row(
          {"uplink", h.uplink + " (" + h.uplink_driver + ", link " + (h.uplink_link_up ? "up" : "down") + ")"});
      table.add_row({"vtep-ip", vtep_ip});
      table.add_row({"gateway", gateway.empty() ? "-" : gateway});
      table.add_row(
          {"mtu", std::to_string(h.underlay_mtu) + " underlay, " + std::to_string(h.endpoint_mtu) + " endpoints"});
      table.add_row(
          {"endpoints", h.endpoint_driver + " ports, container offloads " +
                            (dp_api::container_keeps_offloads(h.endpoint_driver) ? "on" : "TX checksum off")});
      table.add_row({"workers", std::to_string(h.workers)});
      table.add_row({"networks", std::to_string(h.networks)});
      table.add_row({"ports", std::to_string(h.ports)});
      table.add_row({"version", v.software + " (api v" + std::to_string(v.api_version) + ", " + v.dpdk + ")"});
      table.print(std::cout);
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace ferry::ctl::dp
