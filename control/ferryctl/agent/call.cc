#include "control/agent/admin_server.h"
#include "control/ferryctl/agent/agent.h"

namespace ferry::ctl::agent {

void add_common(CLI::App& cmd, Options& options, bool with_json) {
  cmd.add_option("--socket", options.socket, "ferry-agent admin socket")
      ->envname("FERRY_AGENT_SOCKET")
      ->capture_default_str();
  cmd.add_option("--timeout-ms", options.timeout_ms, "reply timeout, ms")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  if (with_json) cmd.add_flag("--json", options.json, "print JSON instead of a table");
}

int call(const Options& options, const nlohmann::json& request, nlohmann::json& reply) {
  auto r = ferry::agent::admin_call(options.socket, request, std::chrono::milliseconds(options.timeout_ms));
  if (!r) return fail(kExitUnreachable, r.error().message);
  if (!r->value("ok", false)) return fail(kExitRefused, r->value("error", std::string("refused")));
  reply = std::move(*r);
  return kExitOk;
}

}  // namespace ferry::ctl::agent
