// ferryctl: the operator's CLI. One subcommand group per area; see command.h.
#include <fmt/format.h>

#include <iostream>

#include "control/ferryctl/command.h"

namespace ferry::ctl {

int fail(int code, const std::string& message) {
  std::cerr << "ferryctl: " << message << '\n';
  return code;
}

}  // namespace ferry::ctl

int main(int argc, char** argv) {
  using namespace ferry::ctl;
  CLI::App app{"ferryctl: control a Ferry host"};
  app.name("ferryctl");
  app.require_subcommand(1);
  Runner runner;
  add_dp_command(app, runner);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (auto& c : what) {
      if (c == '\n') c = ' ';
    }
    return fail(kExitUsage, what + " (see --help)");
  }
  if (!runner.action) {
    return fail(kExitUsage, "no command given (see --help)");
  }
  return runner.action();
}
