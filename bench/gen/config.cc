#include "bench/gen/config.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>

namespace ferry::bench::gen {

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kTx:
      return "tx";
    case Mode::kRx:
      return "rx";
    case Mode::kTxRx:
      return "txrx";
  }
  return "?";
}

Result<void> GenConfig::validate() const {
  if (auto valid = frame.validate(); !valid) return valid;
  if (!pmd.empty() && pmd != "af_packet" && pmd != "af_xdp") {
    return make_error("--pmd '{}' unknown: use af_packet or af_xdp", pmd);
  }
  if (pmd.empty() && (!tx_iface.empty() || !rx_iface.empty())) {
    return make_error("--tx-iface/--rx-iface need --pmd af_packet or --pmd af_xdp");
  }
  if (!pmd.empty()) {
    if (sends() && tx_iface.empty()) return make_error("--pmd {} in mode {} needs --tx-iface", pmd, mode_name(mode));
    if (receives() && rx_iface.empty()) return make_error("--pmd {} in mode {} needs --rx-iface", pmd, mode_name(mode));
    if (!tx_port.empty() || !rx_port.empty()) {
      return make_error("give either --pmd with --*-iface or --*-port, not both");
    }
  }
  if (rate_pps > 1'000'000'000ULL) return make_error("rate {} pps is above 1G pps", rate_pps);
  if (!(duration_s >= 0.0 && duration_s <= 86400.0)) {
    return make_error("duration {} s out of range: 0 to 86400", duration_s);
  }
  if (sends() && duration_s == 0.0 && count == 0) return make_error("TX needs --duration or --count (or both)");
  if (mode == Mode::kRx && duration_s == 0.0) return make_error("rx needs --duration (the longest it listens)");
  if (burst == 0 || burst > 256) return make_error("burst {} out of range: 1 to 256", burst);
  if (!(drain_s >= 0.0 && drain_s <= 60.0)) return make_error("drain {} s out of range: 0 to 60", drain_s);
  if (!(interval_s >= 0.0 && interval_s <= 3600.0)) {
    return make_error("interval {} s out of range: 0 to 3600", interval_s);
  }
  if (tx_desc < 64 || rx_desc < 64) return make_error("descriptor rings need at least 64 entries");
  if (tx_pool_size < 2U * tx_desc + 4U * burst) {
    return make_error("TX pool of {} mbufs is too small for {} descriptors: use at least {}", tx_pool_size, tx_desc,
                      2U * tx_desc + 4U * burst);
  }
  if (rx_pool_size < 2U * rx_desc + 4U * burst) {
    return make_error("RX pool of {} mbufs is too small for {} descriptors: use at least {}", rx_pool_size, rx_desc,
                      2U * rx_desc + 4U * burst);
  }
  return ok();
}

Result<std::uint64_t> parse_rate(std::string_view text) {
  if (text.empty()) return make_error("empty rate");
  double scale = 1.0;
  std::string number(text);
  switch (number.back()) {
    case 'k':
    case 'K':
      scale = 1e3;
      break;
    case 'm':
    case 'M':
      scale = 1e6;
      break;
    case 'g':
    case 'G':
      scale = 1e9;
      break;
    default:
      break;
  }
  if (scale != 1.0) number.pop_back();
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !(value >= 0.0) || !std::isfinite(value)) {
    return make_error("bad rate '{}' (packets per second, e.g. 10000, 250k, 1.5M; 0 = as fast as possible)", text);
  }
  const double pps = std::round(value * scale);
  if (pps > 1e12) return make_error("rate '{}' is too large", text);
  return static_cast<std::uint64_t>(pps);
}

namespace {

// Converts the address options given as text; empty text keeps the default.
Result<void> set_mac(const std::string& text, const char* option, MacAddress* out) {
  if (text.empty()) return ok();
  auto mac = parse_mac(text);
  if (!mac) return mac.error().wrap(option);
  *out = *mac;
  return ok();
}

Result<void> set_ipv4(const std::string& text, const char* option, std::uint32_t* out) {
  if (text.empty()) return ok();
  auto ip = parse_ipv4(text);
  if (!ip) return ip.error().wrap(option);
  *out = *ip;
  return ok();
}

bool has_arg(const std::vector<std::string>& args, std::string_view name) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& arg) {
    return arg == name ||
           (arg.size() > name.size() && arg.compare(0, name.size(), name) == 0 && arg[name.size()] == '=');
  });
}

std::string vdev_args(const GenConfig& config, const std::string& name, const std::string& iface) {
  if (config.pmd == "af_xdp") return fmt::format("--vdev={},iface={},start_queue=0,queue_count=1", name, iface);
  // af_packet: each ring slot holds a whole frame plus the tpacket header.
  // A block is whole pages and whole slots: the PMD walks the ring with a
  // stride of one slot, so no gap may sit at the end of a block.
  const std::uint32_t slot = frame_buffer_size(config.frame.frame_size);
  return fmt::format("--vdev={},iface={},qpairs=1,blocksz={},framesz={},framecnt={}", name, iface,
                     std::lcm(slot, 4096U), slot, slot == 2048 ? 2048 : 512);
}

}  // namespace

std::string tx_vdev_name(const GenConfig& config) { return fmt::format("net_{}_gentx", config.pmd); }

std::string rx_vdev_name(const GenConfig& config) {
  if (config.sends() && config.tx_iface == config.rx_iface) return tx_vdev_name(config);
  return fmt::format("net_{}_genrx", config.pmd);
}

std::vector<std::string> eal_arguments(const GenConfig& config, const std::vector<std::string>& user_args, int pid) {
  std::vector<std::string> args{"ferry-bench-gen"};
  if (!config.pmd.empty()) {
    if (config.sends()) args.push_back(vdev_args(config, tx_vdev_name(config), config.tx_iface));
    if (config.receives() && !(config.sends() && config.tx_iface == config.rx_iface)) {
      args.push_back(vdev_args(config, rx_vdev_name(config), config.rx_iface));
    }
  }
  args.insert(args.end(), user_args.begin(), user_args.end());
  if (!has_arg(user_args, "--file-prefix")) args.push_back(fmt::format("--file-prefix=ferry-gen-{}", pid));
  if (!has_arg(user_args, "--in-memory") && !has_arg(user_args, "--no-huge")) args.emplace_back("--in-memory");
  if (!has_arg(user_args, "--log-level")) args.emplace_back("--log-level=warning");
  if (!has_arg(user_args, "--telemetry") && !has_arg(user_args, "--no-telemetry")) {
    args.emplace_back("--no-telemetry");
  }
  if (!config.pmd.empty() && !has_arg(user_args, "--no-pci") && !has_arg(user_args, "-a") &&
      !has_arg(user_args, "--allow") && !has_arg(user_args, "-b") && !has_arg(user_args, "--block")) {
    args.emplace_back("--no-pci");
  }
  return args;
}

Result<CommandLine> parse_command_line(int argc, char** argv) {
  CommandLine line;
  GenConfig& c = line.config;

  // Everything after "--" belongs to DPDK's EAL.
  std::vector<const char*> own;
  int i = 0;
  for (; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) break;
    own.push_back(argv[i]);
  }
  for (++i; i < argc; ++i) line.user_eal_args.emplace_back(argv[i]);

  CLI::App app{
      "ferry-bench gen: DPDK traffic generator and receiver (loss, order, one-way latency).\n"
      "Example: ferry-bench gen txrx --pmd af_xdp --tx-iface veth0 --rx-iface veth1 --rate 1M -d 5",
      "gen"};
  std::string mode = "txrx";
  std::string rate = "0";
  std::string src_mac, dst_mac, src_ip, dst_ip, outer_src_mac, outer_dst_mac, outer_src_ip, outer_dst_ip;
  bool no_udp_csum = false;
  FrameSpec& f = c.frame;

  app.add_option("mode", mode, "tx, rx or txrx (both, one process)")
      ->check(CLI::IsMember({"tx", "rx", "txrx"}))
      ->capture_default_str();
  auto* ports = "Ports";
  app.add_option("--tx-port", c.tx_port, "DPDK port to send on: id or device name (e.g. 0000:03:00.0)")->group(ports);
  app.add_option("--rx-port", c.rx_port, "DPDK port to receive on: id or device name")->group(ports);
  app.add_option("--pmd", c.pmd, "af_packet or af_xdp: open kernel interfaces given by --tx-iface/--rx-iface")
      ->group(ports);
  app.add_option("--tx-iface", c.tx_iface, "kernel interface to send on (with --pmd)")->group(ports);
  app.add_option("--rx-iface", c.rx_iface, "kernel interface to receive on (with --pmd)")->group(ports);
  app.add_option("--tx-desc", c.tx_desc, "TX ring descriptors")->capture_default_str()->group(ports);
  app.add_option("--rx-desc", c.rx_desc, "RX ring descriptors")->capture_default_str()->group(ports);
  app.add_option("--tx-pool", c.tx_pool_size, "prebuilt TX mbufs")->capture_default_str()->group(ports);
  app.add_option("--rx-pool", c.rx_pool_size, "RX mbufs")->capture_default_str()->group(ports);

  auto* traffic = "Traffic";
  app.add_option("-s,--size", f.frame_size, "frame size in bytes, with the 4-byte FCS (64 to 9216)")
      ->capture_default_str()
      ->group(traffic);
  app.add_option("-f,--flows", f.flows, "flows: UDP source port + i % 4096, source IP + i / 4096")
      ->capture_default_str()
      ->group(traffic);
  app.add_option("-r,--rate", rate, "packets per second (k/M/G suffixes); 0 = as fast as possible")
      ->capture_default_str()
      ->group(traffic);
  app.add_option("-d,--duration", c.duration_s, "seconds to send (tx) or at most listen (rx)")
      ->capture_default_str()
      ->group(traffic);
  app.add_option("-n,--count", c.count, "stop after this many packets (0: no limit)")->group(traffic);
  app.add_flag("--busy-poll", c.busy_poll, "never yield the CPU when idle (dedicated cores)")->group(ports);
  app.add_option("--burst", c.burst, "packets per burst")->capture_default_str()->group(traffic);
  app.add_option("--stream", f.stream, "stream id in the stamp (0-63): tells generators apart")
      ->capture_default_str()
      ->group(traffic);
  app.add_option("--src-mac", src_mac, "source MAC (default: the TX port's MAC)")->group(traffic);
  app.add_option("--dst-mac", dst_mac, "destination MAC (default: RX port's MAC in txrx, else broadcast)")
      ->group(traffic);
  app.add_option("--src-ip", src_ip, "source IPv4 (default 198.18.0.1)")->group(traffic);
  app.add_option("--dst-ip", dst_ip, "destination IPv4 (default 198.18.0.2)")->group(traffic);
  app.add_option("--src-port", f.src_port, "first UDP source port")->capture_default_str()->group(traffic);
  app.add_option("--dst-port", f.dst_port, "UDP destination port")->capture_default_str()->group(traffic);
  app.add_flag("--no-udp-csum", no_udp_csum, "send UDP checksum 0 instead of computing it")->group(traffic);

  auto* vxlan = "VXLAN (send already encapsulated; RX always recognises both forms)";
  app.add_flag("--vxlan", f.vxlan, "wrap each frame in outer Ethernet/IPv4/UDP/VXLAN")->group(vxlan);
  app.add_option("--vni", f.vni, "VXLAN network identifier")->capture_default_str()->group(vxlan);
  app.add_option("--outer-src-mac", outer_src_mac, "outer source MAC (default 02:00:00:00:01:01)")->group(vxlan);
  app.add_option("--outer-dst-mac", outer_dst_mac, "outer destination MAC (default 02:00:00:00:01:02)")->group(vxlan);
  app.add_option("--outer-src-ip", outer_src_ip, "local VTEP IPv4 (default 198.19.0.1)")->group(vxlan);
  app.add_option("--outer-dst-ip", outer_dst_ip, "remote VTEP IPv4 (default 198.19.0.2)")->group(vxlan);
  app.add_option("--vxlan-port", f.vxlan_port, "VXLAN UDP port (TX and RX)")->capture_default_str()->group(vxlan);
  app.add_flag("--outer-udp-csum", f.outer_udp_checksum, "compute the outer UDP checksum (default 0, RFC 7348)")
      ->group(vxlan);

  auto* output = "Run and output";
  app.add_option("--drain", c.drain_s, "seconds RX keeps listening after TX stops / after the last frame")
      ->capture_default_str()
      ->group(output);
  app.add_flag("--json", c.json, "print one JSON object (keys: docs/traffic-generator.md)")->group(output);
  app.add_option("--interval", c.interval_s, "progress line on stderr every N seconds (0: none)")->group(output);
  app.footer(
      "EAL arguments go after --. Defaults added unless given: --file-prefix=ferry-gen-PID, --in-memory\n"
      "(not with --no-huge), --log-level=warning, --no-telemetry, --no-pci (with --pmd). Without hugepages add: -- "
      "--no-huge -m 512");

  try {
    app.parse(static_cast<int>(own.size()), own.data());
  } catch (const CLI::CallForHelp&) {
    line.help = true;
    line.help_text = app.help();
    return line;
  } catch (const CLI::ParseError& e) {
    return make_error("{} (see ferry-bench gen --help)", e.what());
  }

  c.mode = mode == "tx" ? Mode::kTx : mode == "rx" ? Mode::kRx : Mode::kTxRx;
  auto pps = parse_rate(rate);
  if (!pps) return pps.error().wrap("--rate");
  c.rate_pps = *pps;
  f.udp_checksum = !no_udp_csum;
  c.src_mac_given = !src_mac.empty();
  c.dst_mac_given = !dst_mac.empty();
  for (const auto& result : {set_mac(src_mac, "--src-mac", &f.src_mac), set_mac(dst_mac, "--dst-mac", &f.dst_mac),
                             set_ipv4(src_ip, "--src-ip", &f.src_ip), set_ipv4(dst_ip, "--dst-ip", &f.dst_ip),
                             set_mac(outer_src_mac, "--outer-src-mac", &f.outer_src_mac),
                             set_mac(outer_dst_mac, "--outer-dst-mac", &f.outer_dst_mac),
                             set_ipv4(outer_src_ip, "--outer-src-ip", &f.outer_src_ip),
                             set_ipv4(outer_dst_ip, "--outer-dst-ip", &f.outer_dst_ip)}) {
    if (!result) return result.error();
  }
  if (auto valid = c.validate(); !valid) return valid.error();
  return line;
}

}  // namespace ferry::bench::gen
