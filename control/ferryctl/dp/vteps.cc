// ferryctl dp vteps [--json]: the VTEP echo's view of every remote VTEP the
// data plane's tables reference (is its data plane answering?).
#include <iostream>
#include <nlohmann/json.hpp>

#include "control/ferryctl/dp/dp.h"
#include "control/ferryctl/table.h"

namespace ferry::ctl::dp {

namespace {

std::string ago(const std::optional<std::uint64_t>& ms) {
  if (!ms) return "never";
  return fmt::format("{:.1f} s", static_cast<double>(*ms) / 1000.0);
}

nlohmann::json optional_ms(const std::optional<std::uint64_t>& ms) {
  return ms ? nlohmann::json(*ms) : nlohmann::json(nullptr);
}

}  // namespace

void add_vteps(CLI::App& dp, Options& options, Runner& runner) {
  static bool json = false;
  auto* vteps = dp.add_subcommand("vteps", "remote VTEPs and whether their data planes answer the echo");
  vteps->add_flag("--json", json, "print JSON");
  vteps->callback([&options, &runner] {
    runner.action = [&options] {
      dp_api::Reply reply;
      if (const int code = call(options, dp_api::VtepStatusCmd{}, reply); code != kExitOk) {
        return code;
      }
      const dp_api::VtepStatus none;
      const dp_api::VtepStatus& s =
          reply.get<dp_api::VtepStatus>() != nullptr ? *reply.get<dp_api::VtepStatus>() : none;
      if (json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& v : s.vteps) {
          list.push_back({{"vtep", v.vtep ? dp_api::format_ipv4(*v.vtep) : std::string()},
                          {"alive", v.alive},
                          {"resolved", v.resolved},
                          {"requests_sent", v.requests_sent},
                          {"replies", v.replies},
                          {"requests_answered", v.requests_answered},
                          {"last_reply_ms", optional_ms(v.last_reply_ms)},
                          {"last_request_ms", optional_ms(v.last_request_ms)},
                          {"rtt_us", v.rtt_us}});
        }
        nlohmann::json out{{"interval_ms", s.interval_ms},
                           {"echo_vni", s.echo_vni},
                           {"alive_intervals", s.alive_intervals},
                           {"vteps", list},
                           {"counters", s.counters}};
        std::cout << out.dump(2) << '\n';
        return static_cast<int>(kExitOk);
      }
      std::cout << "echo every " << s.interval_ms << " ms on VNI " << s.echo_vni << "; alive: a reply within "
                << s.alive_intervals << " intervals\n";
      Table table({"vtep", "state", "sent", "replies", "answered", "last reply", "last request", "rtt us"});
      for (const auto& v : s.vteps) {
        const std::string state = v.alive ? "alive" : (v.resolved ? "silent" : "unresolved");
        table.add_row({v.vtep ? dp_api::format_ipv4(*v.vtep) : std::string("?"), state, std::to_string(v.requests_sent),
                       std::to_string(v.replies), std::to_string(v.requests_answered), ago(v.last_reply_ms),
                       ago(v.last_request_ms), std::to_string(v.rtt_us)});
      }
      table.print(std::cout);
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace ferry::ctl::dp
