#include "common/config_file.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <CLI/CLI.hpp>
#include <cerrno>
#include <fstream>
#include <set>
#include <string_view>

namespace ferry::config_file {

namespace {

bool is_key_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; }

// The long option `key` names, or null (also for help and config).
const CLI::Option* option_for(const CLI::App& app, const std::string& key) {
  if (key.empty() || key == "help" || key == "config" || key.front() == '-') {
    return nullptr;
  }
  for (char c : key) {
    if (!is_key_char(c) || c == '_') {
      return nullptr;
    }
  }
  return app.get_option_no_throw("--" + key);
}

bool is_flag(const CLI::Option& option) { return option.get_expected_max() == 0; }
bool takes_list(const CLI::Option& option) { return option.get_items_expected_max() > 1; }

// "--flag=value"; an empty value as two words (CLI11 reads "--flag=" as a
// flag without its value and would take the next word).
void add_value(std::vector<std::string>& words, const std::string& flag, const std::string& value) {
  if (value.empty()) {
    words.push_back(flag);
    words.emplace_back();
  } else {
    words.push_back(flag + "=" + value);
  }
}

const char* kind_of(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
    default:
      return "a value";
  }
}

// A string, integer, float or boolean as the word the option would get.
std::optional<std::string> scalar_text(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    return s->get();
  }
  if (const auto* i = node.as_integer()) {
    return std::to_string(i->get());
  }
  if (const auto* f = node.as_floating_point()) {
    return fmt::format("{}", f->get());
  }
  if (const auto* b = node.as_boolean()) {
    return std::string(b->get() ? "true" : "false");
  }
  return std::nullopt;
}

Error at(const std::string& path, const toml::source_position& where, std::string_view key, std::string_view what) {
  return make_error("{}:{}:{}: key '{}': {}", path, where.line, where.column, key, what);
}

// `node`, the value of `key`, as the words of `option`.
Result<std::vector<std::string>> words_for(const std::string& path, const std::string& key, const CLI::Option& option,
                                           const toml::node& node) {
  const std::string flag = "--" + key;
  if (is_flag(option)) {
    const auto* b = node.as_boolean();
    if (b == nullptr) {
      return at(path, node.source().begin, key, fmt::format("{} is a flag: its value must be true or false", flag));
    }
    return b->get() ? std::vector<std::string>{flag} : std::vector<std::string>{};
  }
  std::vector<std::string> words;
  if (const auto* list = node.as_array()) {
    if (!takes_list(option)) {
      return at(path, node.source().begin, key, fmt::format("{} takes one value, not an array", flag));
    }
    for (const auto& element : *list) {
      auto text = scalar_text(element);
      if (!text) {
        return at(path, element.source().begin, key,
                  fmt::format("an element of {} is {}; use strings or numbers", flag, kind_of(element)));
      }
      add_value(words, flag, *text);
    }
    return words;
  }
  auto text = scalar_text(node);
  if (!text) {
    return at(path, node.source().begin, key,
              fmt::format("the value of {} is {}; use a string, a number or true/false", flag, kind_of(node)));
  }
  add_value(words, flag, *text);
  return words;
}

// The options `args` gives (long, --name or --name=value, or short -x).
std::set<const CLI::Option*> given_options(const CLI::App& app, const std::vector<std::string>& args) {
  std::set<const CLI::Option*> given;
  for (const std::string& word : args) {
    if (word == "--") {
      break;
    }
    const CLI::Option* option = nullptr;
    if (word.size() > 2 && word.starts_with("--")) {
      option = app.get_option_no_throw(word.substr(0, word.find('=')));
    } else if (word.size() >= 2 && word[0] == '-' && word[1] != '-') {
      option = app.get_option_no_throw(word.substr(0, 2));
    }
    if (option != nullptr) {
      given.insert(option);
    }
  }
  return given;
}

// Where `--key` occurs in `text` as a whole option name, or npos.
std::size_t find_flag(std::string_view text, const std::string& key) {
  const std::string flag = "--" + key;
  for (std::size_t at = text.find(flag); at != std::string_view::npos; at = text.find(flag, at + 1)) {
    const std::size_t end = at + flag.size();
    if (end == text.size() || !is_key_char(text[end])) {
      return at;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Error File::locate(Error error) const {
  const Entry* first = nullptr;
  std::size_t first_at = std::string::npos;
  for (const Entry& entry : entries) {
    const std::size_t pos = find_flag(error.message, entry.key);
    if (pos < first_at) {
      first_at = pos;
      first = &entry;
    }
  }
  if (first == nullptr) {
    return error;
  }
  return error.wrap(fmt::format("{}:{}:{}: key '{}'", path, first->line, first->column, first->key));
}

std::optional<std::string> config_path(const std::vector<std::string>& args) {
  std::optional<std::string> path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") {
      break;
    }
    if (word == "--help" || word == "-h") {
      return std::nullopt;
    }
    if (word == "--config" && i + 1 < args.size()) {
      path = args[i + 1];
      ++i;
    } else if (word.starts_with("--config=")) {
      path = word.substr(9);
    }
  }
  return path;
}

Result<File> load(const std::string& path, const CLI::App& app) {
  if (std::ifstream probe(path); !probe) {
    return make_sys_error(errno, "--config: cannot read {}", path);
  }
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return make_error("{}:{}:{}: {}", path, where.line, where.column, e.description());
  }
  File file;
  file.path = path;
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    const auto& where = key.source().begin;
    const CLI::Option* option = option_for(app, name);
    if (option == nullptr) {
      return make_error("{}:{}:{}: unknown key '{}': keys are {}'s long option names without the dashes (see --help)",
                        path, where.line, where.column, name, app.get_name());
    }
    for (const Entry& seen : file.entries) {
      if (app.get_option_no_throw("--" + seen.key) == option) {
        return make_error("{}:{}:{}: key '{}' sets the same option as '{}' on line {}", path, where.line, where.column,
                          name, seen.key, seen.line);
      }
    }
    auto words = words_for(path, name, *option, node);
    if (!words) {
      return words.error();
    }
    file.entries.push_back(Entry{name, std::move(*words), static_cast<std::uint32_t>(where.line),
                                 static_cast<std::uint32_t>(where.column)});
  }
  return file;
}

std::vector<std::string> merge(File& file, const CLI::App& app, const std::vector<std::string>& args) {
  const auto given = given_options(app, args);
  // The command line overrides the file: those entries are not in effect.
  std::erase_if(file.entries,
                [&](const Entry& entry) { return given.contains(app.get_option_no_throw("--" + entry.key)); });
  std::vector<std::string> words;
  for (const Entry& entry : file.entries) {
    words.insert(words.end(), entry.words.begin(), entry.words.end());
  }
  words.insert(words.end(), args.begin(), args.end());
  return words;
}

Result<std::vector<std::string>> apply(const CLI::App& app, const std::vector<std::string>& args,
                                       std::optional<File>& file) {
  const auto path = config_path(args);
  if (!path) {
    return args;
  }
  auto loaded = load(*path, app);
  if (!loaded) {
    return loaded.error();
  }
  auto words = merge(*loaded, app, args);
  file = std::move(*loaded);
  return words;
}

}  // namespace ferry::config_file
