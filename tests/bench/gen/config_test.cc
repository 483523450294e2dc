#include "bench/gen/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace ferry::bench::gen {
namespace {

Result<CommandLine> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "gen");
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (auto& a : args) argv.push_back(a.data());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(ParseRate, Table) {
  const std::pair<const char*, std::uint64_t> good[] = {{"0", 0},          {"1000", 1000},  {"2.5k", 2500},
                                                        {"250K", 250000},  {"1M", 1000000}, {"1.5m", 1500000},
                                                        {"1G", 1000000000}};
  for (const auto& [text, want] : good) {
    auto r = parse_rate(text);
    ASSERT_TRUE(r) << text;
    EXPECT_EQ(*r, want) << text;
  }
  for (const char* bad : {"", "k", "fast", "-5", "1x", "1e400"}) EXPECT_FALSE(parse_rate(bad)) << bad;
}

TEST(CommandLine, FillsTheConfig) {
  auto line = parse({"txrx",       "--pmd",    "af_xdp", "--tx-iface", "veth0",
                     "--rx-iface", "veth1",    "-s",     "128",        "-f",
                     "100",        "-r",       "250k",   "-d",         "2.5",
                     "--vxlan",    "--vni",    "77",     "--dst-mac",  "02:00:00:00:00:09",
                     "--src-ip",   "10.0.0.1", "--json", "--",         "-l",
                     "0-1",        "--no-huge"});
  ASSERT_TRUE(line) << line.error().message;
  const GenConfig& c = line->config;
  EXPECT_EQ(c.mode, Mode::kTxRx);
  EXPECT_EQ(c.pmd, "af_xdp");
  EXPECT_EQ(c.tx_iface, "veth0");
  EXPECT_EQ(c.frame.frame_size, 128U);
  EXPECT_EQ(c.frame.flows, 100U);
  EXPECT_EQ(c.rate_pps, 250000U);
  EXPECT_DOUBLE_EQ(c.duration_s, 2.5);
  EXPECT_TRUE(c.frame.vxlan);
  EXPECT_EQ(c.frame.vni, 77U);
  EXPECT_TRUE(c.dst_mac_given);
  EXPECT_FALSE(c.src_mac_given);
  EXPECT_EQ(c.frame.dst_mac, (MacAddress{{2, 0, 0, 0, 0, 9}}));
  EXPECT_EQ(c.frame.src_ip, 0x0A000001U);
  EXPECT_TRUE(c.json);
  EXPECT_EQ(line->user_eal_args, (std::vector<std::string>{"-l", "0-1", "--no-huge"}));
}

TEST(CommandLine, ErrorsNameTheProblem) {
  const std::pair<std::vector<std::string>, const char*> cases[] = {
      {{"blast"}, "blast"},
      {{"tx", "--size", "32"}, "frame size 32"},
      {{"tx", "--rate", "lots"}, "--rate"},
      {{"tx", "--dst-mac", "nope"}, "--dst-mac"},
      {{"tx", "--bogus"}, "bogus"},
      {{"tx", "--pmd", "af_packet"}, "needs --tx-iface"},
      {{"rx", "--pmd", "af_packet", "--tx-iface", "a"}, "needs --rx-iface"},
      {{"tx", "--tx-iface", "a"}, "need --pmd"},
      {{"tx", "--pmd", "dpdk", "--tx-iface", "a"}, "unknown"},
      {{"tx", "-d", "0"}, "--duration or --count"},
      {{"tx", "--burst", "0"}, "burst 0"},
      {{"txrx", "--drain", "-1"}, "drain"},
      {{"tx", "--tx-pool", "100"}, "too small"},
  };
  for (const auto& [args, needle] : cases) {
    auto line = parse(args);
    ASSERT_FALSE(line) << needle;
    EXPECT_NE(line.error().message.find(needle), std::string::npos) << line.error().message;
  }
}

TEST(CommandLine, Help) {
  auto line = parse({"--help"});
  ASSERT_TRUE(line);
  EXPECT_TRUE(line->help);
  EXPECT_NE(line->help_text.find("--rate"), std::string::npos);
}

TEST(GenConfig, CountAloneIsEnoughForTx) {
  GenConfig c;
  c.mode = Mode::kTx;
  c.duration_s = 0;
  c.count = 1000;
  EXPECT_TRUE(c.validate());
}

TEST(EalArguments, AddsDefaultsForSideBySideRuns) {
  GenConfig c;
  c.pmd = "af_packet";
  c.tx_iface = "veth0";
  c.rx_iface = "veth1";
  auto args = eal_arguments(c, {"-l", "0-1"}, 4242);
  EXPECT_EQ(args[0], "ferry-bench-gen");
  EXPECT_TRUE(
      contains(args, "--vdev=net_af_packet_gentx,iface=veth0,qpairs=1,blocksz=4096,framesz=2048,framecnt=2048"));
  EXPECT_TRUE(
      contains(args, "--vdev=net_af_packet_genrx,iface=veth1,qpairs=1,blocksz=4096,framesz=2048,framecnt=2048"));
  EXPECT_TRUE(contains(args, "--file-prefix=ferry-gen-4242"));
  EXPECT_TRUE(contains(args, "--in-memory"));
  EXPECT_TRUE(contains(args, "--no-pci"));
  EXPECT_TRUE(contains(args, "--log-level=warning"));
  EXPECT_TRUE(contains(args, "--no-telemetry"));
  EXPECT_TRUE(contains(args, "0-1"));
}

TEST(EalArguments, RespectsTheUsersChoices) {
  GenConfig c;
  auto args = eal_arguments(
      c, {"--no-huge", "--file-prefix", "mine", "--log-level=debug", "-a", "0000:03:00.0", "--telemetry"}, 1);
  EXPECT_FALSE(contains(args, "--in-memory")) << "EAL refuses --in-memory with --no-huge";
  EXPECT_FALSE(contains(args, "--file-prefix=ferry-gen-1"));
  EXPECT_FALSE(contains(args, "--log-level=warning"));
  EXPECT_FALSE(contains(args, "--no-pci"));
  EXPECT_FALSE(contains(args, "--no-telemetry"));
}

TEST(EalArguments, OneVdevWhenTxAndRxShareAnInterface) {
  GenConfig c;
  c.pmd = "af_xdp";
  c.tx_iface = c.rx_iface = "eth9";
  auto args = eal_arguments(c, {}, 1);
  EXPECT_EQ(std::count_if(args.begin(), args.end(), [](const std::string& a) { return a.rfind("--vdev", 0) == 0; }), 1);
  EXPECT_TRUE(contains(args, "--vdev=net_af_xdp_gentx,iface=eth9,start_queue=0,queue_count=1"));
  EXPECT_EQ(rx_vdev_name(c), tx_vdev_name(c));
}

TEST(EalArguments, JumboFramesGetBigAfPacketSlots) {
  GenConfig c;
  c.mode = Mode::kTx;
  c.pmd = "af_packet";
  c.tx_iface = "veth0";
  c.frame.frame_size = 9000;
  auto args = eal_arguments(c, {}, 1);
  EXPECT_TRUE(
      contains(args, "--vdev=net_af_packet_gentx,iface=veth0,qpairs=1,blocksz=36864,framesz=9216,framecnt=512"));
}

}  // namespace
}  // namespace ferry::bench::gen
