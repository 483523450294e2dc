// ferryctl dp show [--json]: the data plane's tables.
#include <iostream>
#include <nlohmann/json.hpp>

#include "control/ferryctl/dp/dp.h"
#include "control/ferryctl/table.h"

namespace ferry::ctl::dp {
namespace {

using dp_api::format_ipv4;

std::vector<std::string> texts(const std::vector<dp_api::Ipv4>& ips) {
  std::vector<std::string> out;
  out.reserve(ips.size());
  for (const auto& ip : ips) out.push_back(format_ipv4(ip));
  return out;
}

// A port's addresses as the wire lists them: IPv4 first, then IPv6, CIDR.
std::vector<std::string> texts(const dp_api::PortEntry& p) {
  std::vector<std::string> out;
  for (const auto& ip : p.ips) out.push_back(dp_api::format_ipv4_prefix(ip));
  for (const auto& ip : p.ips6) out.push_back(dp_api::format_ipv6_prefix(ip));
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += (out.empty() ? "" : ",") + item;
  }
  return out.empty() ? "-" : out;
}

std::string vtep_text(const dp_api::FdbEntry& f) { return f.vtep ? format_ipv4(*f.vtep) : std::string(); }
std::string ip_text(const dp_api::UnderlayNeighbor& u) { return u.ip ? format_ipv4(*u.ip) : std::string(); }
std::string mac_text(const dp_api::UnderlayNeighbor& u) { return u.mac ? u.mac->to_string() : std::string(); }

nlohmann::json to_json(const dp_api::Dump& dump) {
  using nlohmann::json;
  json out{{"networks", json::array()},
           {"ports", json::array()},
           {"fdb", json::array()},
           {"neighbors", json::array()},
           {"underlay", json::array()}};
  for (const auto& n : dump.networks) {
    out["networks"].push_back(
        {{"vni", n.vni}, {"flood_unknown", n.flood_unknown}, {"flood_vteps", texts(n.flood_vteps)}});
  }
  for (const auto& p : dump.ports) {
    out["ports"].push_back({{"port_id", p.port_id},
                            {"iface", p.iface},
                            {"vni", p.vni},
                            {"mac", p.mac.to_string()},
                            {"ips", texts(p)},
                            {"driver", p.driver},
                            {"offloads", p.offloads},
                            {"link_up", p.link_up}});
  }
  for (const auto& f : dump.fdb) {
    json entry{{"vni", f.vni}, {"mac", f.mac.to_string()}};
    if (f.vtep) entry["vtep"] = vtep_text(f);
    if (!f.iface.empty()) entry["iface"] = f.iface;
    out["fdb"].push_back(entry);
  }
  for (const auto& n : dump.neighbors) {
    out["neighbors"].push_back({{"vni", n.vni}, {"ip", dp_api::format_ip(n.ip)}, {"mac", n.mac.to_string()}});
  }
  for (const auto& u : dump.underlay) {
    out["underlay"].push_back(
        {{"ip", ip_text(u)}, {"mac", mac_text(u)}, {"state", u.state}, {"vteps", texts(u.vteps)}});
  }
  return out;
}

void print_text(const dp_api::Dump& dump) {
  std::cout << "Networks\n";
  Table nets({"vni", "flood", "flood-vteps"});
  for (const auto& n : dump.networks) {
    nets.add_row({std::to_string(n.vni), n.flood_unknown ? "on" : "off", join(texts(n.flood_vteps))});
  }
  nets.print(std::cout);

  std::cout << "\nPorts\n";
  Table ports({"port", "iface", "vni", "mac", "ips", "driver", "offloads", "link"});
  for (const auto& p : dump.ports) {
    ports.add_row({std::to_string(p.port_id), p.iface, std::to_string(p.vni), p.mac.to_string(), join(texts(p)),
                   p.driver, join(p.offloads), p.link_up ? "up" : "down"});
  }
  ports.print(std::cout);

  std::cout << "\nMAC table\n";
  Table fdb({"vni", "mac", "where"});
  for (const auto& f : dump.fdb) {
    fdb.add_row(
        {std::to_string(f.vni), f.mac.to_string(), f.iface.empty() ? "vtep " + vtep_text(f) : "port " + f.iface});
  }
  fdb.print(std::cout);

  std::cout << "\nNeighbours\n";
  Table neigh({"vni", "ip", "mac"});
  for (const auto& n : dump.neighbors) {
    neigh.add_row({std::to_string(n.vni), dp_api::format_ip(n.ip), n.mac.to_string()});
  }
  neigh.print(std::cout);

  std::cout << "\nUnderlay next hops\n";
  Table underlay({"ip", "mac", "state", "vteps"});
  for (const auto& u : dump.underlay) {
    underlay.add_row({ip_text(u), u.mac ? mac_text(u) : "-", u.state, join(texts(u.vteps))});
  }
  underlay.print(std::cout);
}

}  // namespace

void add_show(CLI::App& dp, Options& options, Runner& runner) {
  static bool json = false;
  auto* show = dp.add_subcommand("show", "networks, ports, MAC/neighbour tables, underlay next hops");
  show->add_flag("--json", json, "print JSON");
  show->callback([&options, &runner] {
    runner.action = [&options] {
      dp_api::Reply reply;
      if (const int code = call(options, dp_api::DumpCmd{}, reply); code != kExitOk) {
        return code;
      }
      const dp_api::Dump empty;
      const dp_api::Dump* dump = reply.get<dp_api::Dump>();
      if (dump == nullptr) dump = &empty;
      if (json) {
        std::cout << to_json(*dump).dump(2) << '\n';
      } else {
        print_text(*dump);
      }
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace ferry::ctl::dp
