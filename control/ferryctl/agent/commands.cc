// Registers the agent-facing command groups (see agent/agent.h).
#include "control/ferryctl/agent/agent.h"

namespace ferry::ctl {

void add_agent_commands(CLI::App& app, Runner& runner) {
  // Options outlive parsing: the callbacks capture them by reference.
  static agent::Options options;
  agent::add_show_commands(app, options, runner);
  agent::add_net_command(app, options, runner);
  agent::add_attach_commands(app, options, runner);
}

}  // namespace ferry::ctl
