// ferry-bench: one binary, one subcommand per benchmark (pipeline, gossip,
// gen, ...). `ferry-bench` alone lists them.
#include <cstdio>
#include <cstring>

#include "bench/command.h"

namespace ferry::bench {

std::map<std::string, Command>& commands() {
  static std::map<std::string, Command> registry;
  return registry;
}

}  // namespace ferry::bench

int main(int argc, char** argv) {
  const auto& commands = ferry::bench::commands();
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::printf("usage: ferry-bench COMMAND [options]   (COMMAND --help for its options)\n\ncommands:\n");
    for (const auto& [name, command] : commands) {
      std::printf("  %-10s %s\n", name.c_str(), command.summary.c_str());
    }
    return argc < 2 ? 2 : 0;
  }
  const auto it = commands.find(argv[1]);
  if (it == commands.end()) {
    std::fprintf(stderr, "ferry-bench: unknown command '%s' (run ferry-bench --help for the list)\n", argv[1]);
    return 2;
  }
  return it->second.run(argc - 1, argv + 1);
}
