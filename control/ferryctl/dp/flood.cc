// ferryctl dp flood add|del --vni N --vtep A.B.C.D
#include "control/ferryctl/dp/dp.h"

namespace ferry::ctl::dp {

void add_flood(CLI::App& dp, Options& options, Runner& runner) {
  auto* flood = dp.add_subcommand("flood", "flood lists (VTEPs that get broadcast copies)");
  flood->require_subcommand(1);

  struct Args {
    std::uint32_t vni = 0;
    std::string vtep;
  };
  static Args args;

  for (const bool adding : {true, false}) {
    auto* sub = flood->add_subcommand(adding ? "add" : "del",
                                      adding ? "add a VTEP to a network's flood list" : "remove a VTEP from it");
    sub->add_option("--vni", args.vni, "network")->required();
    sub->add_option("--vtep", args.vtep, "remote VTEP IPv4")->required();
    sub->callback([&options, &runner, adding] {
      runner.action = [&options, adding] {
        return adding ? call_and_report(options, dp_api::make_flood_add(args.vni, args.vtep))
                      : call_and_report(options, dp_api::make_flood_del(args.vni, args.vtep));
      };
    });
  }
}

}  // namespace ferry::ctl::dp
