// A daemon's settings from a TOML file (--config FILE). The file's keys are
// the daemon's long option names without the dashes, so the options' --help
// text is the one place every setting is documented:
//
//   uplink = "eth1"            # same as --uplink eth1
//   no-huge = true             # a flag: true sets it, false leaves it off
//   seeds = ["10.0.0.1:7946"]  # an option taking several values: an array
//
// Options given on the command line override the file's (the file's value
// for that option is ignored, a list included). An unknown key, a value of
// the wrong kind, or a value the option then refuses is an error that names
// the file, the line, the column and the key; the daemon then starts nothing.
// Parsing is toml++ (TOML 1.0); the option semantics stay CLI11's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace CLI {
class App;
}  // namespace CLI

namespace ferry::config_file {

// One key of the file and the command-line words it stands for.
struct Entry {
  std::string key;                 // long option name, no dashes
  std::vector<std::string> words;  // e.g. {"--uplink=eth1"}; empty for a flag set to false
  std::uint32_t line = 0;          // where the key is, 1-based
  std::uint32_t column = 0;
};

struct File {
  std::string path;
  std::vector<Entry> entries;

  // `error` with "PATH:LINE:COLUMN: key 'K': " in front when its message
  // names --K for a key K this file set (the one named first); else `error`.
  [[nodiscard]] Error locate(Error error) const;
};

// The value of --config in `args` (argv without argv[0], up to a "--"), or
// nullopt when there is none or --help/-h asks for the help text instead.
std::optional<std::string> config_path(const std::vector<std::string>& args);

// Reads the TOML file at `path` and turns each top-level key into the words
// of the long option of `app` it names. `help` and `config` are not keys.
Result<File> load(const std::string& path, const CLI::App& app);

// The words to parse: `file`'s entries for options `args` does not give,
// then `args` unchanged. The entries `args` overrides leave `file`, so
// locate() never blames the file for a value it did not set.
std::vector<std::string> merge(File& file, const CLI::App& app, const std::vector<std::string>& args);

// What a parse function calls before CLI::App::parse: with --config FILE in
// `args`, loads FILE into `file` and returns merge(); without, `args`.
Result<std::vector<std::string>> apply(const CLI::App& app, const std::vector<std::string>& args,
                                       std::optional<File>& file);

}  // namespace ferry::config_file
