// ferryctl dp fdb add --vni N --mac MAC --vtep A.B.C.D | fdb del --vni N --mac MAC
#include "control/ferryctl/dp/dp.h"

namespace ferry::ctl::dp {

void add_fdb(CLI::App& dp, Options& options, Runner& runner) {
  auto* fdb = dp.add_subcommand("fdb", "remote MAC entries (MAC -> VTEP)");
  fdb->require_subcommand(1);

  struct Args {
    std::uint32_t vni = 0;
    std::string mac;
    std::string vtep;
  };
  static Args args;

  auto* add = fdb->add_subcommand("add", "add or replace a remote MAC entry");
  add->add_option("--vni", args.vni, "network")->required();
  add->add_option("--mac", args.mac, "remote endpoint MAC")->required();
  add->add_option("--vtep", args.vtep, "remote VTEP IPv4")->required();
  add->callback([&options, &runner] {
    runner.action = [&options] {
      return call_and_report(options, dp_api::make_fdb_add(args.vni, args.mac, args.vtep));
    };
  });

  auto* del = fdb->add_subcommand("del", "remove a remote MAC entry");
  del->add_option("--vni", args.vni, "network")->required();
  del->add_option("--mac", args.mac, "remote endpoint MAC")->required();
  del->callback([&options, &runner] {
    runner.action = [&options] { return call_and_report(options, dp_api::make_fdb_del(args.vni, args.mac)); };
  });
}

}  // namespace ferry::ctl::dp
