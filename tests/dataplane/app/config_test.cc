#include "dataplane/app/config.h"
#include "dataplane/app/tap_uplink_port.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace ferry::dataplane::app {
namespace {

Result<ParsedArgs> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ferry-dataplane");
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_args(static_cast<int>(argv.size()), argv.data());
}

const std::vector<std::string> kMinimal{"--uplink",        "eth1",  "--vtep-ip",
                                        "192.168.1.10/24", "--api", "ipc:///run/ferry/dp.sock"};

std::vector<std::string> with(std::vector<std::string> extra) {
  auto args = kMinimal;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(Config, MinimalFlagsGiveDefaults) {
  auto parsed = parse(kMinimal);
  ASSERT_TRUE(parsed) << parsed.error().message;
  const Config& c = parsed->config;
  EXPECT_EQ(c.uplink, "eth1");
  EXPECT_EQ(c.uplink_kind, UplinkKind::kInterface);
  EXPECT_EQ(c.uplink_driver, PortDriver::kAuto);
  EXPECT_EQ(dp_api::format_ipv4_prefix(c.vtep), "192.168.1.10/24");
  EXPECT_FALSE(c.gateway);
  EXPECT_EQ(c.api_path, "/run/ferry/dp.sock");
  EXPECT_EQ(c.idle_sleep_us, 100U);
  EXPECT_EQ(c.idle_spin_us, 200U);
  EXPECT_EQ(c.endpoint_driver, PortDriver::kAfPacket);
  EXPECT_FALSE(c.no_huge);
  EXPECT_EQ(c.uplink_mtu, 0U);  // from the interface
  EXPECT_EQ(c.mbufs, 0U);       // sized from the MTU
  EXPECT_TRUE(c.eal_args.empty());
  EXPECT_EQ(c.uplink_mode, UplinkMode::kAuto);  // tap or udp, decided at start
  EXPECT_EQ(c.udp_send_sockets, 16U);
}

// auto is a kernel uplink unless the uplink can only be a DPDK port (a PCI
// address) or an option that applies to a DPDK uplink only is given.
TEST(Config, AutoUplinkModeBecomesDpdkOnlyForWhatOnlyDpdkTakes) {
  EXPECT_EQ(parse(with({"--uplink-mode", "auto"}))->config.uplink_mode, UplinkMode::kAuto);
  EXPECT_EQ(parse(with({"--no-huge"}))->config.uplink_mode, UplinkMode::kAuto);
  EXPECT_EQ(parse(with({"--uplink-driver", "af_xdp"}))->config.uplink_mode, UplinkMode::kDpdk);
  EXPECT_EQ(parse(with({"--gateway", "192.168.1.1"}))->config.uplink_mode, UplinkMode::kDpdk);
  auto pci = parse({"--uplink", "0000:3b:00.0", "--vtep-ip", "10.1.0.5/16", "--api", "ipc:///tmp/x.sock"});
  ASSERT_TRUE(pci) << pci.error().message;
  EXPECT_EQ(pci->config.uplink_mode, UplinkMode::kDpdk);
  EXPECT_FALSE(parse(with({"--uplink-mode", "fast"})));
  EXPECT_NE(parse(with({"--uplink-mode", "fast"})).error().message.find("use auto, dpdk, udp or tap"),
            std::string::npos);
}

TEST(Config, AutoRunsAsTapWhereTheKernelHasTunnelGsoOnTapsElseUdp) {
  EXPECT_EQ(resolve_uplink_mode(UplinkMode::kAuto, TapSupport{true, {}}), UplinkMode::kTap);
  EXPECT_EQ(resolve_uplink_mode(UplinkMode::kAuto, TapSupport{false, "no tunnel GSO"}), UplinkMode::kUdp);
  for (const auto mode : {UplinkMode::kDpdk, UplinkMode::kUdp, UplinkMode::kTap}) {
    EXPECT_EQ(resolve_uplink_mode(mode, TapSupport{true, {}}), mode);
    EXPECT_EQ(resolve_uplink_mode(mode, TapSupport{false, "no"}), mode);
  }
}

TEST(Config, UdpUplinkMode) {
  auto parsed = parse(with({"--uplink-mode", "udp", "--udp-send-sockets", "8", "--no-huge"}));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->config.uplink_mode, UplinkMode::kUdp);
  EXPECT_EQ(parsed->config.udp_send_sockets, 8U);
  EXPECT_EQ(parse(with({"--uplink-mode", "dpdk"}))->config.uplink_mode, UplinkMode::kDpdk);
  EXPECT_EQ(parse(with({"--uplink-mode", "tap"}))->config.uplink_mode, UplinkMode::kTap);
}

TEST(Config, AllFlagsAndEalArgs) {
  auto parsed = parse(
      with({"--gateway", "192.168.1.1", "--lcores", "0,2", "--no-huge", "--idle-sleep-us", "0", "--idle-spin-us", "50",
            "--endpoint-driver", "af_packet", "--vxlan-port", "8472", "--", "--log-level=debug", "--vdev=net_null0"}));
  ASSERT_TRUE(parsed) << parsed.error().message;
  const Config& c = parsed->config;
  EXPECT_EQ(dp_api::format_ipv4(*c.gateway), "192.168.1.1");
  EXPECT_EQ(c.lcores, "0,2");
  EXPECT_TRUE(c.no_huge);
  EXPECT_EQ(c.uplink_driver, PortDriver::kAfPacket);  // --no-huge: af_xdp impossible
  EXPECT_EQ(c.idle_sleep_us, 0U);
  EXPECT_EQ(c.idle_spin_us, 50U);
  EXPECT_EQ(c.vxlan_port, 8472);
  EXPECT_EQ(c.eal_args, (std::vector<std::string>{"--log-level=debug", "--vdev=net_null0"}));
}

TEST(Config, VnetIsAnEndpointPortType) {
  for (const auto& extra : {std::vector<std::string>{"--endpoint-driver", "vnet"},
                            std::vector<std::string>{"--no-huge", "--endpoint-driver", "vnet"}}) {
    auto parsed = parse(with(extra));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->config.endpoint_driver, PortDriver::kVnet);
    EXPECT_STREQ(driver_name(parsed->config.endpoint_driver), "vnet");
  }
  auto uplink = parse(with({"--uplink-driver", "vnet"}));
  ASSERT_FALSE(uplink);
  EXPECT_NE(uplink.error().message.find("auto, af_xdp or af_packet"), std::string::npos) << uplink.error().message;
}

TEST(Config, PciUplinkIsRecognised) {
  auto parsed = parse({"--uplink", "0000:3b:00.0", "--vtep-ip", "10.1.0.5/16", "--api", "ipc:///tmp/x.sock"});
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->config.uplink_kind, UplinkKind::kPci);
  EXPECT_TRUE(looks_like_pci_address("3b:00.1"));
  EXPECT_FALSE(looks_like_pci_address("eth0"));
  EXPECT_FALSE(looks_like_pci_address("0000:3b:00.8"));
}

TEST(Config, HelpIsNotAnError) {
  auto parsed = parse({"--help"});
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->help);
  EXPECT_NE(parsed->help->find("--uplink"), std::string::npos);
}

struct BadCase {
  std::vector<std::string> args;
  std::string expected;  // part of the one-line message
};

class ConfigRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigRejects, WithOneLineMessage) {
  auto parsed = parse(GetParam().args);
  ASSERT_FALSE(parsed) << "accepted";
  const auto& message = parsed.error().message;
  EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigRejects,
    ::testing::Values(
        BadCase{{"--vtep-ip", "10.0.0.1/24", "--api", "ipc:///tmp/a"}, "--uplink"},
        BadCase{{"--uplink", "eth1", "--api", "ipc:///tmp/a"}, "--vtep-ip"},
        BadCase{{"--uplink", "eth1", "--vtep-ip", "10.0.0.1/24"}, "--api"}, BadCase{with({"--bogus"}), "bogus"},
        BadCase{{"--uplink", "eth1", "--vtep-ip", "10.0.0.1", "--api", "ipc:///tmp/a"}, "A.B.C.D/LEN"},
        BadCase{{"--uplink", "eth1", "--vtep-ip", "10.0.0.256/24", "--api", "ipc:///tmp/a"}, "0..255"},
        BadCase{{"--uplink", "eth1", "--vtep-ip", "10.0.0.1/32", "--api", "ipc:///tmp/a"}, "prefix length"},
        BadCase{{"--uplink", "eth1", "--vtep-ip", "10.0.0.1/24", "--api", "tcp://1.2.3.4:5"}, "ipc://"},
        BadCase{with({"--gateway", "10.9.9.9"}), "not inside the VTEP subnet"},
        BadCase{with({"--gateway", "192.168.1.10"}), "VTEP address itself"},
        BadCase{with({"--idle-sleep-us", "1000000"}), "100000"},
        BadCase{with({"--idle-sleep-us", "-1"}), "idle-sleep-us"},
        BadCase{with({"--idle-spin-us", "100001"}), "100000"}, BadCase{with({"--idle-spin-us", "x"}), "idle-spin-us"},
        BadCase{with({"--no-huge", "--uplink-driver", "af_xdp"}), "hugepages"},
        BadCase{with({"--no-huge", "--endpoint-driver", "af_xdp"}), "hugepages"},
        BadCase{with({"--endpoint-driver", "tap"}), "af_packet"}, BadCase{with({"--uplink-driver", "pcap"}), "af_xdp"},
        BadCase{with({"--uplink-mtu", "9217"}), "576..9216"}, BadCase{with({"--uplink-mtu", "500"}), "uplink-mtu"},
        BadCase{with({"--mbufs", "100"}), "1023"},
        BadCase{{"--uplink", "a,b", "--vtep-ip", "10.0.0.1/24", "--api", "ipc:///tmp/a"}, "interface name"},
        BadCase{{"--uplink", "0000:3b:00.0", "--uplink-driver", "af_xdp", "--vtep-ip", "10.0.0.1/24", "--api",
                 "ipc:///tmp/a"},
                "PCI"},
        BadCase{with({"--uplink-mode", "kernel"}), "use auto, dpdk, udp or tap"},
        BadCase{with({"--uplink-mode", "udp", "--gateway", "192.168.1.1"}), "the kernel routes"},
        BadCase{with({"--uplink-mode", "udp", "--uplink-driver", "af_packet"}), "--uplink-mode dpdk"},
        BadCase{with({"--uplink-mode", "udp", "--udp-send-sockets", "0"}), "1..64"},
        BadCase{with({"--uplink-mode", "udp", "--udp-send-sockets", "65"}), "1..64"},
        BadCase{
            {"--uplink", "0000:3b:00.0", "--uplink-mode", "udp", "--vtep-ip", "10.0.0.1/24", "--api", "ipc:///tmp/a"},
            "kernel interface"}));

TEST(EalArguments, HugepagesUseInMemoryAndNoPciForInterfaces) {
  auto parsed = parse(kMinimal);
  ASSERT_TRUE(parsed);
  const auto args = eal_arguments(parsed->config, 4242, {0, 1});
  auto has = [&](const std::string& a) { return std::find(args.begin(), args.end(), a) != args.end(); };
  EXPECT_TRUE(has("--in-memory"));
  EXPECT_TRUE(has("--no-pci"));
  EXPECT_TRUE(has("--file-prefix=ferry-4242"));
  EXPECT_TRUE(has("--lcores=0@(0,1),1@(0,1)"));
  EXPECT_FALSE(has("--no-huge"));
}

TEST(EalArguments, NoHugeNeverCombinesWithInMemory) {
  auto parsed = parse(with({"--no-huge", "--lcores", "0,1,2", "--", "--vdev=x"}));
  ASSERT_TRUE(parsed);
  const auto args = eal_arguments(parsed->config, 7, {0});
  auto has = [&](const std::string& a) { return std::find(args.begin(), args.end(), a) != args.end(); };
  EXPECT_TRUE(has("--no-huge"));
  EXPECT_TRUE(has("--no-shconf"));
  EXPECT_TRUE(has("-m256"));
  EXPECT_FALSE(has("--in-memory"));
  EXPECT_TRUE(has("--lcores=0,1,2"));
  EXPECT_EQ(args.back(), "--vdev=x");  // user EAL args come last and win
}

TEST(EalArguments, PciUplinkIsAllowListed) {
  auto parsed = parse({"--uplink", "0000:3b:00.0", "--vtep-ip", "10.1.0.5/16", "--api", "ipc:///tmp/x.sock"});
  ASSERT_TRUE(parsed);
  const auto args = eal_arguments(parsed->config, 7, {0, 1});
  EXPECT_NE(std::find(args.begin(), args.end(), "--allow=0000:3b:00.0"), args.end());
  EXPECT_EQ(std::find(args.begin(), args.end(), "--no-pci"), args.end());
}

// --config FILE (common/config_file.h): the same options from TOML; the
// command line wins; errors name the file, line and key.
class ConfigFile : public ::testing::Test {
 protected:
  void TearDown() override { std::remove(path_.c_str()); }
  std::string write(const std::string& text) {
    std::ofstream(path_) << text;
    return path_;
  }
  std::string path_ = ::testing::TempDir() + "ferry-dataplane-config-test.toml";
};

TEST_F(ConfigFile, SetsOptionsAndTheCommandLineWins) {
  const auto path = write(
      "uplink = \"eth1\"\nvtep-ip = \"10.1.0.5/16\"\napi = \"ipc:///run/ferry/dataplane.sock\"\n"
      "uplink-mode = \"udp\"\nno-huge = true\nvxlan-port = 8472\n");
  auto parsed = parse({"--config", path, "--vxlan-port", "4789"});
  ASSERT_TRUE(parsed) << parsed.error().message;
  const Config& c = parsed->config;
  EXPECT_EQ(c.uplink, "eth1");
  EXPECT_EQ(c.uplink_mode, UplinkMode::kUdp);
  EXPECT_TRUE(c.no_huge);
  EXPECT_EQ(c.api_path, "/run/ferry/dataplane.sock");
  EXPECT_EQ(c.vxlan_port, 4789);
}

TEST_F(ConfigFile, ErrorsNameFileLineAndKey) {
  const std::string base = "uplink = \"eth1\"\nvtep-ip = \"10.1.0.5/16\"\napi = \"ipc:///tmp/x.sock\"\n";
  const std::vector<std::pair<std::string, std::string>> cases{
      {base + "vxlan-prot = 1\n", ":4:1: unknown key 'vxlan-prot'"},
      {base + "vxlan-port = 70000\n", ":4:1: key 'vxlan-port'"},
      {base + "gateway = \"10.9.0.1\"\n", ":4:1: key 'gateway': --gateway 10.9.0.1 is not inside"},
      {base + "uplink-mode = \"fast\"\n", ":4:1: key 'uplink-mode': --uplink-mode 'fast'"},
      {base + "no-huge = \"yes\"\n", ":4:11: key 'no-huge': --no-huge is a flag"},
  };
  for (const auto& [text, want] : cases) {
    const auto path = write(text);
    auto parsed = parse({"--config", path});
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find(path + want), std::string::npos) << parsed.error().message;
  }
}

}  // namespace
}  // namespace ferry::dataplane::app
