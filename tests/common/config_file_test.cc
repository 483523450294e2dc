#include "common/config_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>

namespace ferry::config_file {
namespace {

// A daemon-like command line: the kinds of option the daemons have.
struct Settings {
  std::string name;
  std::uint16_t port = 4789;
  bool quiet = false;
  bool hand_over = true;
  std::vector<std::string> seeds;
};

class ConfigFileTest : public ::testing::Test {
 protected:
  ConfigFileTest() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ferry-config-file-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
    app_.name("ferryd");
    app_.add_option("--name,-n", s_.name, "name")->required();
    app_.add_option("--port", s_.port, "port");
    app_.add_flag("--quiet", s_.quiet, "quiet");
    app_.add_option("--hand-over", s_.hand_over, "hand over");
    app_.add_option("--seeds", s_.seeds, "seeds")->delimiter(',');
    app_.add_option("--config", config_, "config");
  }
  ~ConfigFileTest() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string write(const std::string& text) {
    std::string path = dir_ + "/ferryd.toml";
    std::ofstream(path) << text;
    return path;
  }

  // The whole sequence a daemon's parse function runs; the error located.
  Result<void> parse(const std::vector<std::string>& args) {
    std::optional<File> file;
    auto words = apply(app_, args, file);
    if (!words) return words.error();
    std::vector<std::string> reversed(words->rbegin(), words->rend());
    try {
      app_.parse(reversed);
    } catch (const CLI::ParseError& e) {
      Error error = make_error("{}", e.what());
      return file ? file->locate(error) : error;
    }
    if (s_.port == 0) {
      Error error = make_error("--port must be 1..65535, not {}", s_.port);
      return file ? file->locate(error) : error;
    }
    return ok();
  }

  std::string dir_;
  std::string config_;
  Settings s_;
  CLI::App app_{"test daemon"};
};

TEST_F(ConfigFileTest, FileSetsEveryKindOfOption) {
  const auto path = write(
      "# comment\n"
      "name = \"h1\"\n"
      "port = 8472\n"
      "quiet = true\n"
      "hand-over = false\n"
      "seeds = [\"10.0.0.1:7946\", \"10.0.0.2:7946\"]\n");
  auto r = parse({"--config", path});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(s_.name, "h1");
  EXPECT_EQ(s_.port, 8472U);
  EXPECT_TRUE(s_.quiet);
  EXPECT_FALSE(s_.hand_over);
  EXPECT_EQ(s_.seeds, (std::vector<std::string>{"10.0.0.1:7946", "10.0.0.2:7946"}));
}

TEST_F(ConfigFileTest, CommandLineOverridesTheFileListsIncluded) {
  const auto path = write("name = \"file\"\nport = 1\nseeds = [\"10.0.0.1:1\", \"10.0.0.2:1\"]\n");
  auto r = parse({"-n", "cli", "--config=" + path, "--port=2", "--seeds", "10.0.0.9:9"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(s_.name, "cli");
  EXPECT_EQ(s_.port, 2U);
  EXPECT_EQ(s_.seeds, (std::vector<std::string>{"10.0.0.9:9"}));
}

TEST_F(ConfigFileTest, FlagFalseLeavesItOffAndSeedsMayBeOneString) {
  const auto path = write("name = \"\"\nquiet = false\nseeds = \"10.0.0.1:1,10.0.0.2:1\"\n");
  auto r = parse({"--config", path});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(s_.name, "");  // an empty string is a value, not a missing one
  EXPECT_FALSE(s_.quiet);
  EXPECT_EQ(s_.seeds.size(), 2U);
}

TEST_F(ConfigFileTest, NoConfigAndHelpLeaveArgsAlone) {
  const std::vector<std::string> args{"--name", "x"};
  std::optional<File> file;
  auto words = apply(app_, args, file);
  ASSERT_TRUE(words);
  EXPECT_EQ(*words, args);
  EXPECT_FALSE(file);
  EXPECT_FALSE(config_path({"--config", "/nonexistent", "--help"}));
  EXPECT_FALSE(config_path({"--", "--config", "/x"}));
  EXPECT_EQ(config_path({"--config", "/a", "--config=/b"}), "/b");
}

// Every error: which text must appear (file, line:column, key, what).
struct BadCase {
  const char* toml;
  const char* where;  // "LINE:COLUMN"
  const char* what;
};

TEST_F(ConfigFileTest, EveryErrorNamesFileLineColumnAndKey) {
  const std::vector<BadCase> cases{
      {"name = \"h\"\n  bogus = 1\n", ":2:3:", "unknown key 'bogus'"},
      {"name = \"h\"\nhelp = true\n", ":2:1:", "unknown key 'help'"},
      {"config = \"/etc/x\"\n", ":1:1:", "unknown key 'config'"},
      {"n = \"h\"\n", ":1:1:", "unknown key 'n'"},
      {"Port = 1\n", ":1:1:", "unknown key 'Port'"},
      {"hand_over = true\n", ":1:1:", "unknown key 'hand_over'"},
      {"name = \"h\"\nport = \n", ":2:8:", "expected value"},  // TOML syntax
      {"name = \"h\"\nname = \"g\"\n", ":2:", "name"},         // duplicate key (TOML)
      {"[section]\nport = 1\n", ":1:", "unknown key 'section'"},
      {"name = \"h\"\nquiet = 1\n", ":2:9:", "key 'quiet': --quiet is a flag"},
      {"name = \"h\"\nport = [1, 2]\n", ":2:8:", "key 'port': --port takes one value"},
      {"name = \"h\"\nport = { a = 1 }\n", ":2:8:", "key 'port': the value of --port is a table"},
      {"name = \"h\"\nport = 1979-05-27\n", ":2:8:", "is a date or time"},
      {"name = \"h\"\nseeds = [\"a:1\", [\"b:1\"]]\n", ":2:17:", "an element of --seeds is an array"},
      {"name = \"h\"\nport = \"many\"\n", ":2:1:", "key 'port'"},  // refused by the option
      {"name = \"h\"\nport = 70000\n", ":2:1:", "key 'port'"},     // out of the type's range
      {"name = \"h\"\nport = 1.5\n", ":2:1:", "key 'port'"},       // not an integer
      {"name = \"h\"\nhand-over = \"maybe\"\n", ":2:1:", "key 'hand-over'"},
      {"port = 0\nname = \"h\"\n", ":1:1:", "key 'port': --port must be 1..65535, not 0"},  // after parsing
  };
  for (const auto& c : cases) {
    const auto path = write(c.toml);
    auto r = parse({"--config", path});
    ASSERT_FALSE(r) << c.toml;
    const std::string& message = r.error().message;
    EXPECT_NE(message.find(path + c.where), std::string::npos) << c.toml << " -> " << message;
    EXPECT_NE(message.find(c.what), std::string::npos) << c.toml << " -> " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    s_ = Settings{};
    app_.clear();
  }
}

TEST_F(ConfigFileTest, ErrorsFromTheCommandLineAreNotBlamedOnTheFile) {
  const auto path = write("name = \"h\"\nport = 7\n");
  auto r = parse({"--config", path, "--port", "0"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "--port must be 1..65535, not 0");
}

TEST_F(ConfigFileTest, MissingFileIsAClearError) {
  auto r = parse({"--config", dir_ + "/absent.toml"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot read " + dir_ + "/absent.toml"), std::string::npos) << r.error().message;
}

TEST_F(ConfigFileTest, TwoKeysForOneOptionAreRefused) {
  CLI::App aliased{"aliased"};
  std::string value;
  aliased.add_option("--vtep,--vtep-ip", value, "two long names");
  const auto path = write("vtep = \"a\"\nvtep-ip = \"b\"\n");
  auto file = load(path, aliased);
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find(":2:1: key 'vtep-ip' sets the same option as 'vtep' on line 1"),
            std::string::npos)
      << file.error().message;
}

TEST(ConfigFileLocate, PicksTheKeyNamedFirstAndWholeNamesOnly) {
  File file{"/etc/f.toml", {{"port", {"--port=1"}, 3, 1}, {"name", {"--name=x"}, 5, 2}}};
  EXPECT_EQ(file.locate(make_error("--name x clashes with --port 1")).message,
            "/etc/f.toml:5:2: key 'name': --name x clashes with --port 1");
  EXPECT_EQ(file.locate(make_error("--ports is different")).message, "--ports is different");
  EXPECT_EQ(file.locate(make_error("--port")).message, "/etc/f.toml:3:1: key 'port': --port");
}

}  // namespace
}  // namespace ferry::config_file
