#include "control/ferryctl/dp/dp.h"

#include <iostream>
#include <memory>

#include "dataplane/api/client.h"

namespace ferry::ctl {

void add_dp_command(CLI::App& app, Runner& runner) {
  // Options outlive parsing: the callbacks capture them by reference.
  static auto options = std::make_unique<dp::Options>();
  auto* dp_cmd = app.add_subcommand("dp", "program a ferry-dataplane through its API");
  dp_cmd->require_subcommand(1);
  dp_cmd->add_option("--api", options->api, "the data plane's API endpoint, ipc://PATH")
      ->envname("FERRY_DP_API")
      ->capture_default_str();
  dp_cmd->add_option("--timeout-ms", options->timeout_ms, "give up when no reply comes within this time")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  dp_cmd->add_flag("--force", options->force,
                   "change a data plane an agent owns (its drift audit undoes what the agent does not want)");
  dp::add_net(*dp_cmd, *options, runner);
  dp::add_port(*dp_cmd, *options, runner);
  dp::add_fdb(*dp_cmd, *options, runner);
  dp::add_neigh(*dp_cmd, *options, runner);
  dp::add_flood(*dp_cmd, *options, runner);
  dp::add_show(*dp_cmd, *options, runner);
  dp::add_stats(*dp_cmd, *options, runner);
  dp::add_health(*dp_cmd, *options, runner);
  dp::add_vteps(*dp_cmd, *options, runner);
}

namespace dp {

int call(const Options& options, const dp_api::Command& command, dp_api::Reply& reply) {
  if (options.api.rfind("ipc://", 0) != 0) {
    return fail(kExitUsage, "--api must be ipc://PATH, got '" + options.api + "'");
  }
  dp_api::Client client(options.api, std::chrono::milliseconds(options.timeout_ms),
                        dp_api::RequestMeta{"", options.force});
  auto result = client.call(command);
  if (!result) {
    return fail(kExitUnreachable, result.error().message);
  }
  reply = std::move(*result);
  if (!reply.ok()) {
    return fail(kExitRefused, std::string(dp_api::status_name(reply.status)) + ": " + reply.message);
  }
  return kExitOk;
}

int call_and_report(const Options& options, const dp_api::Command& command) {
  dp_api::Reply reply;
  const int code = call(options, command, reply);
  if (code == kExitOk && !reply.message.empty()) {
    std::cout << reply.message << '\n';
  }
  return code;
}

}  // namespace dp
}  // namespace ferry::ctl
