// ferryctl dp stats [--json] [--all]: counters per port, network, drop reason and lcore.
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "control/ferryctl/dp/dp.h"
#include "control/ferryctl/table.h"

namespace ferry::ctl::dp {
namespace {

nlohmann::json to_json(const dp_api::Stats& stats) {
  using nlohmann::json;
  json out{{"ports", json::array()},
           {"vnis", json::array()},
           {"drops", json::object()},
           {"lcores", json::array()},
           {"counters", json::object()}};
  for (const auto& p : stats.ports) {
    out["ports"].push_back({{"port_id", p.port_id},
                            {"name", p.name},
                            {"driver", p.driver},
                            {"vni", p.vni},
                            {"rx_packets", p.rx_packets},
                            {"rx_bytes", p.rx_bytes},
                            {"tx_packets", p.tx_packets},
                            {"tx_bytes", p.tx_bytes},
                            {"rx_missed", p.rx_missed},
                            {"tx_dropped", p.tx_dropped}});
  }
  for (const auto& v : stats.vnis) {
    out["vnis"].push_back({{"vni", v.vni}, {"counters", json(v.counters)}});
  }
  for (const auto& d : stats.drops) {
    out["drops"][d.reason] = d.packets;
  }
  for (const auto& l : stats.lcores) {
    out["lcores"].push_back({{"lcore_id", l.lcore_id},
                             {"rx_packets", l.rx_packets},
                             {"tx_packets", l.tx_packets},
                             {"polls", l.polls},
                             {"busy_polls", l.busy_polls},
                             {"idle_sleeps", l.idle_sleeps}});
  }
  for (const auto& [name, value] : stats.counters) {
    out["counters"][name] = value;
  }
  return out;
}

void print_text(const dp_api::Stats& stats, bool all) {
  std::cout << "Ports\n";
  Table ports(
      {"port", "name", "driver", "vni", "rx-pkts", "rx-bytes", "tx-pkts", "tx-bytes", "rx-missed", "tx-dropped"});
  for (const auto& p : stats.ports) {
    ports.add_row({std::to_string(p.port_id), p.name, p.driver.empty() ? "-" : p.driver, std::to_string(p.vni),
                   std::to_string(p.rx_packets), std::to_string(p.rx_bytes), std::to_string(p.tx_packets),
                   std::to_string(p.tx_bytes), std::to_string(p.rx_missed), std::to_string(p.tx_dropped)});
  }
  ports.print(std::cout);

  std::cout << "\nNetworks\n";
  std::vector<std::string> names;
  if (!stats.vnis.empty()) {
    for (const auto& [name, value] : stats.vnis.front().counters) {
      names.push_back(name);
    }
  }
  std::vector<std::string> headers{"vni"};
  headers.insert(headers.end(), names.begin(), names.end());
  Table vnis(headers);
  for (const auto& v : stats.vnis) {
    std::vector<std::string> row{std::to_string(v.vni)};
    for (const auto& name : names) {
      auto it = v.counters.find(name);
      row.push_back(it == v.counters.end() ? "0" : std::to_string(it->second));
    }
    vnis.add_row(row);
  }
  vnis.print(std::cout);

  std::cout << "\nCounters" << (all ? "" : " (non-zero; --all for every one)") << "\n";
  Table counters({"counter", "value"});
  for (const auto& [name, value] : stats.counters) {
    if (all || value != 0) counters.add_row({name, std::to_string(value)});
  }
  counters.print(std::cout);

  std::cout << "\nDrops" << (all ? "" : " (non-zero)") << "\n";
  Table drops({"reason", "packets", "meaning"});
  for (const auto& d : stats.drops) {
    if (all || d.packets != 0) drops.add_row({d.reason, std::to_string(d.packets), d.help});
  }
  drops.print(std::cout);

  std::cout << "\nLcores\n";
  Table lcores({"lcore", "rx-pkts", "tx-pkts", "polls", "busy-polls", "idle-sleeps"});
  for (const auto& l : stats.lcores) {
    lcores.add_row({std::to_string(l.lcore_id), std::to_string(l.rx_packets), std::to_string(l.tx_packets),
                    std::to_string(l.polls), std::to_string(l.busy_polls), std::to_string(l.idle_sleeps)});
  }
  lcores.print(std::cout);
}

}  // namespace

void add_stats(CLI::App& dp, Options& options, Runner& runner) {
  static bool json = false;
  static bool all = false;
  auto* stats = dp.add_subcommand("stats", "counters per port, network, drop reason and lcore");
  stats->add_flag("--json", json, "print JSON");
  stats->add_flag("--all", all, "also list counters that are zero");
  stats->callback([&options, &runner] {
    runner.action = [&options] {
      dp_api::Reply reply;
      if (const int code = call(options, dp_api::StatsCmd{}, reply); code != kExitOk) {
        return code;
      }
      const dp_api::Stats empty;
      const dp_api::Stats* stats = reply.get<dp_api::Stats>();
      if (stats == nullptr) stats = &empty;
      if (json) {
        std::cout << to_json(*stats).dump(2) << '\n';
      } else {
        print_text(*stats, all);
      }
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace ferry::ctl::dp
