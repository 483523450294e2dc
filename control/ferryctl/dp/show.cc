// ferryctl dp show [--json]: the data plane's tables.
#include <iostream>
#include <nlohmann/json.hpp>

#include "control/ferryctl/dp/dp.h"
#include "control/ferryctl/table.h"

namespace ferry::ctl::dp {
namespace {

std::string join(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += (out.empty() ? "" : ",") + item;
  }
  return out.empty() ? "-" : out;
}

nlohmann::json to_json(const v1::Dump& dump) {
  using nlohmann::json;
  json out{{"networks", json::array()},
           {"ports", json::array()},
           {"fdb", json::array()},
           {"neighbors", json::array()},
           {"underlay", json::array()}};
  for (const auto& n : dump.networks()) {
    out["networks"].push_back(
        {{"vni", n.vni()},
         {"flood_unknown", n.flood_unknown()},
         {"flood_vteps", std::vector<std::string>(n.flood_vteps().begin(), n.flood_vteps().end())}});
  }
  for (const auto& p : dump.ports()) {
    out["ports"].push_back({{"port_id", p.port_id()},
                            {"iface", p.iface()},
                            {"vni", p.vni()},
                            {"mac", p.mac()},
                            {"ips", std::vector<std::string>(p.ips().begin(), p.ips().end())},
                            {"driver", p.driver()},
                            {"offloads", std::vector<std::string>(p.offloads().begin(), p.offloads().end())},
                            {"link_up", p.link_up()}});
  }
  for (const auto& f : dump.fdb()) {
    json entry{{"vni", f.vni()}, {"mac", f.mac()}};
    if (!f.vtep().empty()) entry["vtep"] = f.vtep();
    if (!f.iface().empty()) entry["iface"] = f.iface();
    out["fdb"].push_back(entry);
  }
  for (const auto& n : dump.neighbors()) {
    out["neighbors"].push_back({{"vni", n.vni()}, {"ip", n.ip()}, {"mac", n.mac()}});
  }
  for (const auto& u : dump.underlay()) {
    out["underlay"].push_back({{"ip", u.ip()},
                               {"mac", u.mac()},
                               {"state", u.state()},
                               {"vteps", std::vector<std::string>(u.vteps().begin(), u.vteps().end())}});
  }
  return out;
}

void print_text(const v1::Dump& dump) {
  std::cout << "Networks\n";
  Table nets({"vni", "flood", "flood-vteps"});
  for (const auto& n : dump.networks()) {
    nets.add_row({std::to_string(n.vni()), n.flood_unknown() ? "on" : "off", join(n.flood_vteps())});
  }
  nets.print(std::cout);

  std::cout << "\nPorts\n";
  Table ports({"port", "iface", "vni", "mac", "ips", "driver", "offloads", "link"});
  for (const auto& p : dump.ports()) {
    ports.add_row({std::to_string(p.port_id()), p.iface(), std::to_string(p.vni()), p.mac(), join(p.ips()), p.driver(),
                   join(p.offloads()), p.link_up() ? "up" : "down"});
  }
  ports.print(std::cout);

  std::cout << "\nMAC table\n";
  Table fdb({"vni", "mac", "where"});
  for (const auto& f : dump.fdb()) {
    fdb.add_row({std::to_string(f.vni()), f.mac(), f.iface().empty() ? "vtep " + f.vtep() : "port " + f.iface()});
  }
  fdb.print(std::cout);

  std::cout << "\nNeighbours\n";
  Table neigh({"vni", "ip", "mac"});
  for (const auto& n : dump.neighbors()) {
    neigh.add_row({std::to_string(n.vni()), n.ip(), n.mac()});
  }
  neigh.print(std::cout);

  std::cout << "\nUnderlay next hops\n";
  Table underlay({"ip", "mac", "state", "vteps"});
  for (const auto& u : dump.underlay()) {
    underlay.add_row({u.ip(), u.mac().empty() ? "-" : u.mac(), u.state(), join(u.vteps())});
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
      v1::Request request;
      request.mutable_dump_get();
      v1::Reply reply;
      if (const int code = call(options, std::move(request), reply); code != kExitOk) {
        return code;
      }
      if (json) {
        std::cout << to_json(reply.dump()).dump(2) << '\n';
      } else {
        print_text(reply.dump());
      }
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace ferry::ctl::dp
