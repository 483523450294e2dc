// ferry-bench subcommands register themselves here:
//
//   FERRY_BENCH_COMMAND(pipeline, "forwarding pipeline from memory", run_pipeline);
//
// Each subcommand's sources are compiled straight into the ferry-bench
// executable (not a static library), so the registrations are never dropped.
#pragma once

#include <map>
#include <string>

namespace ferry::bench {

using CommandFn = int (*)(int argc, char** argv);

struct Command {
  std::string summary;
  CommandFn run;
};

std::map<std::string, Command>& commands();

struct Registrar {
  Registrar(const char* name, const char* summary, CommandFn run) { commands()[name] = Command{summary, run}; }
};

}  // namespace ferry::bench

#define FERRY_BENCH_COMMAND(name, summary, fn) \
  static const ::ferry::bench::Registrar ferry_bench_registrar_##name(#name, summary, fn)
