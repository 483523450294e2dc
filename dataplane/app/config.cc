#include "dataplane/app/config.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <sstream>
#include <string_view>

#include "common/config_file.h"

namespace ferry::dataplane::app {

const char* driver_name(PortDriver driver) {
  switch (driver) {
    case PortDriver::kAuto:
      return "auto";
    case PortDriver::kAfXdp:
      return "af_xdp";
    case PortDriver::kAfPacket:
      return "af_packet";
    case PortDriver::kVnet:
      return "vnet";
  }
  return "?";
}

bool looks_like_pci_address(const std::string& text) {
  // [DDDD:]BB:DD.F, hex digits, function 0..7.
  const std::string_view pattern = text.size() == 12 ? "hhhh:hh:hh.f" : "hh:hh.f";
  if (text.size() != pattern.size()) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (pattern[i]) {
      case 'h':
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return false;
        break;
      case 'f':
        if (c < '0' || c > '7') return false;
        break;
      default:
        if (c != pattern[i]) return false;
    }
  }
  return true;
}

Result<void> Config::validate() const {
  if (uplink.empty()) {
    return make_error("--uplink is required (a kernel interface name or a PCI address)");
  }
  if (kernel_uplink(uplink_mode)) {
    if (uplink_kind == UplinkKind::kPci) {
      return make_error("--uplink-mode udp/tap needs a kernel interface as --uplink, not PCI address {}", uplink);
    }
    if (gateway) {
      return make_error("--gateway does not apply with --uplink-mode udp/tap: the kernel routes the underlay");
    }
    if (udp_send_sockets == 0 || udp_send_sockets > 64) {
      return make_error("--udp-send-sockets {} is outside 1..64", udp_send_sockets);
    }
  }
  if (uplink_kind == UplinkKind::kInterface) {
    if (uplink.size() > 15 || uplink.find_first_of(",=/: ") != std::string::npos) {
      return make_error("--uplink '{}' is neither a PCI address nor a valid interface name", uplink);
    }
  } else if (uplink_driver != PortDriver::kAuto) {
    return make_error("--uplink-driver applies to interface uplinks, not to PCI address {}", uplink);
  }
  if (vtep.addr.value == 0 || vtep.length == 0 || vtep.length > 31 || vtep.addr.value >= 0xe0000000U) {
    return make_error("--vtep-ip {} must be a unicast address with a prefix length 1..31",
                      dp_api::format_ipv4_prefix(vtep));
  }
  if (gateway) {
    if (!vtep.contains(*gateway)) {
      return make_error("--gateway {} is not inside the VTEP subnet {}", dp_api::format_ipv4(*gateway),
                        dp_api::format_ipv4_prefix(vtep));
    }
    if (*gateway == vtep.addr) {
      return make_error("--gateway {} is the VTEP address itself", dp_api::format_ipv4(*gateway));
    }
  }
  if (api_path.empty() || api_endpoint != "ipc://" + api_path) {
    return make_error("--api must be ipc://PATH (got '{}')", api_endpoint);
  }
  if (api_path.size() >= 107) {
    return make_error("--api path {} is too long for a unix socket (max 107 bytes)", api_path);
  }
  if (api_wait_s > 300) {
    return make_error("--api-wait-s {} is out of range 0..300", api_wait_s);
  }
  if (no_huge && uplink_driver == PortDriver::kAfXdp) {
    return make_error("--uplink-driver af_xdp needs hugepages: drop --no-huge or use af_packet");
  }
  if (no_huge && endpoint_driver == PortDriver::kAfXdp) {
    return make_error("--endpoint-driver af_xdp needs hugepages: drop --no-huge or use af_packet");
  }
  if (endpoint_driver == PortDriver::kAuto) {
    return make_error("--endpoint-driver must be vnet, af_packet or af_xdp");
  }
  if (uplink_driver == PortDriver::kVnet) {
    return make_error("--uplink-driver vnet: vnet is an endpoint port type; use auto, af_xdp or af_packet");
  }
  if (idle_sleep_us > 100000) {
    return make_error("--idle-sleep-us {} is above the 100000 (100 ms) limit", idle_sleep_us);
  }
  if (idle_spin_us > 100000) {
    return make_error("--idle-spin-us {} is above the 100000 (100 ms) limit", idle_spin_us);
  }
  if (vxlan_port == 0) {
    return make_error("--vxlan-port must be 1..65535");
  }
  if (memory_mb < 64) {
    return make_error("--memory-mb {} is below 64", memory_mb);
  }
  if (mbufs != 0 && mbufs < 1023) {
    return make_error("--mbufs {} is below 1023", mbufs);
  }
  if (uplink_mtu != 0 && (uplink_mtu < kMinUplinkMtu || uplink_mtu > kMaxUplinkMtu)) {
    return make_error("--uplink-mtu {} is outside {}..{}", uplink_mtu, kMinUplinkMtu, kMaxUplinkMtu);
  }
  if (arp_timeout_s < 5) {
    return make_error("--arp-timeout-s {} is below 5", arp_timeout_s);
  }
  if (vtep_echo_ms != 0 && (vtep_echo_ms < 10 || vtep_echo_ms > 60000)) {
    return make_error("--vtep-echo-ms {} is outside 10..60000 (or 0: off)", vtep_echo_ms);
  }
  if (vtep_echo_vni == 0 || vtep_echo_vni > 0xffffff) {
    return make_error("--vtep-echo-vni {} is outside 1..16777215", vtep_echo_vni);
  }
  return ok();
}

namespace {

// `uplink`: auto, af_xdp, af_packet; else (endpoints): vnet, af_packet, af_xdp.
Result<PortDriver> parse_driver(const std::string& text, bool uplink, const char* flag) {
  if (text == "af_xdp") {
    return PortDriver::kAfXdp;
  }
  if (text == "af_packet") {
    return PortDriver::kAfPacket;
  }
  if (uplink && text == "auto") {
    return PortDriver::kAuto;
  }
  if (!uplink && text == "vnet") {
    return PortDriver::kVnet;
  }
  return make_error("{} '{}': use {}", flag, text, uplink ? "auto, af_xdp or af_packet" : "vnet, af_packet or af_xdp");
}

// CLI11 error text can span lines; the contract is one line.
std::string one_line(std::string text) {
  for (auto& c : text) {
    if (c == '\n') {
      c = ' ';
    }
  }
  while (!text.empty() && text.back() == ' ') {
    text.pop_back();
  }
  return text;
}

}  // namespace

namespace {

// --uplink-mode. `dpdk_only`: the uplink is a PCI address, or an option that
// applies to a DPDK uplink only (--uplink-driver, --gateway) was given, so
// auto means dpdk.
Result<UplinkMode> parse_uplink_mode(const std::string& text, bool dpdk_only) {
  if (text == "udp") return UplinkMode::kUdp;
  if (text == "tap") return UplinkMode::kTap;
  if (text == "dpdk") return UplinkMode::kDpdk;
  if (text == "auto") return dpdk_only ? UplinkMode::kDpdk : UplinkMode::kAuto;
  return make_error("--uplink-mode '{}': use auto, dpdk, udp or tap", text);
}

// parse_args without naming the --config file's line in errors.
Result<ParsedArgs> parse_args_and_file(int argc, const char* const* argv, std::optional<config_file::File>& file) {
  // Everything after "--" belongs to EAL, untouched by CLI11.
  std::vector<std::string> ours;
  ParsedArgs parsed;
  Config& config = parsed.config;
  bool eal = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!eal && arg == "--") {
      eal = true;
      continue;
    }
    (eal ? config.eal_args : ours).push_back(arg);
  }

  CLI::App app{"ferry-dataplane: DPDK VXLAN switch between container veths and the underlay"};
  app.name("ferry-dataplane");
  app.footer("Arguments after -- are passed to DPDK's EAL. See docs/dataplane.md.");
  std::string vtep_text;
  std::string gateway_text;
  std::string uplink_driver = "auto";
  std::string uplink_mode = "auto";
  std::string endpoint_driver = "af_packet";
  app.add_option("--uplink", config.uplink, "underlay port: kernel interface name or PCI address")->required();
  app.add_option("--vtep-ip", vtep_text, "our VTEP address with its prefix length, A.B.C.D/LEN")->required();
  app.add_option("--gateway", gateway_text, "underlay gateway for VTEPs outside the VTEP subnet");
  app.add_option("--api", config.api_endpoint, "programming API endpoint, ipc://PATH")->required();
  app.add_option("--api-group", config.api_group, "group allowed to use the API socket (mode 0660; default 0600)");
  app.add_option("--api-wait-s", config.api_wait_s, "wait this long for a previous process to free the API path")
      ->capture_default_str();
  app.add_option("--lcores", config.lcores, "EAL lcores: first = control, others = workers (default 0,1)");
  app.add_flag("--no-huge", config.no_huge, "run without hugepages (af_packet ports only)");
  app.add_option("--memory-mb", config.memory_mb, "memory with --no-huge, MiB")->capture_default_str();
  app.add_option("--mbufs", config.mbufs, "mbufs in the packet pool (default: sized from the MTU)");
  app.add_option("--uplink-mtu", config.uplink_mtu, "underlay MTU (default: the interface's; 1500 for PCI)");
  app.add_option("--idle-sleep-us", config.idle_sleep_us, "max idle back-off sleep, us (0 = busy poll)")
      ->capture_default_str();
  app.add_option("--idle-spin-us", config.idle_spin_us,
                 "keep polling this long after the last frame before sleeping, us")
      ->capture_default_str();
  app.add_option("--uplink-mode", uplink_mode,
                 "auto (tap where the kernel has it, else udp; dpdk with a PCI uplink, --uplink-driver or --gateway), "
                 "dpdk (a DPDK port owns the VTEP address), udp (kernel UDP sockets) or tap (udp + a tunnel-GSO tap)")
      ->capture_default_str();
  app.add_option("--udp-send-sockets", config.udp_send_sockets, "udp mode: send sockets (outer source ports)")
      ->capture_default_str();
  app.add_option("--uplink-driver", uplink_driver, "auto, af_xdp or af_packet (interface uplinks)")
      ->capture_default_str();
  app.add_option("--endpoint-driver", endpoint_driver, "vnet, af_packet or af_xdp for container veths")
      ->capture_default_str();
  app.add_option("--vxlan-port", config.vxlan_port, "VXLAN UDP port")->capture_default_str();
  app.add_option("--arp-timeout-s", config.arp_timeout_s, "underlay ARP entry lifetime, s")->capture_default_str();
  app.add_option("--vtep-echo-ms", config.vtep_echo_ms, "between echo requests to each remote VTEP, ms (0: none)")
      ->capture_default_str();
  app.add_option("--vtep-echo-vni", config.vtep_echo_vni, "management VNI of the VTEP echo (no network may use it)")
      ->capture_default_str();
  app.add_option("--file-prefix", config.file_prefix, "EAL file prefix (default ferry-<pid>)");
  app.add_option("--log-level", config.log_level, "trace, debug, info, warn, error")->capture_default_str();

  std::string config_path;
  app.add_option("--config", config_path, "TOML file of these options (keys: long names); flags override it");
  auto merged = config_file::apply(app, ours, file);
  if (!merged) {
    return merged.error();
  }
  ours = std::move(*merged);

  std::vector<std::string> reversed(ours.rbegin(), ours.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    parsed.help = app.help();
    return parsed;
  } catch (const CLI::ParseError& e) {
    return make_error("{}", one_line(e.what()));
  }

  auto vtep = dp_api::parse_ipv4_prefix(vtep_text);
  if (!vtep) {
    return vtep.error().wrap("--vtep-ip");
  }
  config.vtep = *vtep;
  if (!gateway_text.empty()) {
    auto gw = dp_api::parse_unicast_ipv4(gateway_text);
    if (!gw) {
      return gw.error().wrap("--gateway");
    }
    config.gateway = *gw;
  }
  config.uplink_kind = looks_like_pci_address(config.uplink) ? UplinkKind::kPci : UplinkKind::kInterface;
  auto mode = parse_uplink_mode(
      uplink_mode, config.uplink_kind == UplinkKind::kPci || uplink_driver != "auto" || config.gateway.has_value());
  if (!mode) {
    return mode.error();
  }
  config.uplink_mode = *mode;
  if (kernel_uplink(config.uplink_mode) && uplink_driver != "auto") {
    return make_error("--uplink-driver applies to --uplink-mode dpdk (udp and tap modes use the kernel)");
  }
  auto ud = parse_driver(uplink_driver, true, "--uplink-driver");
  if (!ud) {
    return ud.error();
  }
  config.uplink_driver = *ud;
  if (config.no_huge && config.uplink_driver == PortDriver::kAuto) {
    config.uplink_driver = PortDriver::kAfPacket;  // af_xdp needs hugepage memory for its UMEM
  }
  auto ed = parse_driver(endpoint_driver, false, "--endpoint-driver");
  if (!ed) {
    return ed.error();
  }
  config.endpoint_driver = *ed;
  if (config.api_endpoint.rfind("ipc://", 0) == 0) {
    config.api_path = config.api_endpoint.substr(6);
  }
  if (auto valid = config.validate(); !valid) {
    return valid.error();
  }
  return parsed;
}

}  // namespace

Result<ParsedArgs> parse_args(int argc, const char* const* argv) {
  std::optional<config_file::File> file;
  auto parsed = parse_args_and_file(argc, argv, file);
  if (!parsed && file) {
    return file->locate(parsed.error());
  }
  return parsed;
}

std::vector<std::string> eal_arguments(const Config& config, int pid, const std::vector<int>& cpus) {
  std::vector<std::string> args{"ferry-dataplane"};
  std::string lcores = config.lcores;
  if (lcores.empty()) {
    // Two lcores (control + one worker), each free to run on any allowed CPU.
    std::string set;
    for (int cpu : cpus) {
      set += (set.empty() ? "" : ",") + std::to_string(cpu);
    }
    lcores = set.empty() ? "0,1" : fmt::format("0@({}),1@({})", set, set);
  }
  args.push_back("--lcores=" + lcores);
  args.push_back("--file-prefix=" + (config.file_prefix.empty() ? fmt::format("ferry-{}", pid) : config.file_prefix));
  if (config.no_huge) {
    // --in-memory is refused with --no-huge; --no-shconf keeps no runtime
    // files, so side-by-side processes cannot collide.
    args.emplace_back("--no-huge");
    args.push_back(fmt::format("-m{}", config.memory_mb));
    args.emplace_back("--no-shconf");
  } else {
    args.emplace_back("--in-memory");
  }
  if (config.uplink_kind == UplinkKind::kPci) {
    args.push_back("--allow=" + config.uplink);
  } else {
    args.emplace_back("--no-pci");
  }
  args.emplace_back("--no-telemetry");
  args.emplace_back("--log-level=notice");
  for (const auto& extra : config.eal_args) {
    args.push_back(extra);
  }
  return args;
}

}  // namespace ferry::dataplane::app
