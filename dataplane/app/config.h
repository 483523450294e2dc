// ferry-dataplane's command line, parsed into one Config with validate(), and
// the EAL argument vector derived from it. Nothing below main() reads flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "dataplane/api/addr.h"

namespace ferry::dataplane::app {

enum class UplinkKind : std::uint8_t { kPci, kInterface };

// --uplink-mode: how VXLAN reaches the underlay. kDpdk: the uplink is a DPDK
// port (a PCI NIC, or af_xdp/af_packet on a kernel interface) and the data
// plane owns the VTEP address (answers ARP, resolves next hops). kUdp:
// kernel UDP sockets on the VTEP address, which the kernel owns (routing,
// ARP, other traffic on the same interface); see docs/dataplane.md. kTap:
// kUdp plus a tap that hands whole VXLAN super-frames to and from the kernel
// (Linux >= 6.17; falls back to kUdp, with a log line, where the kernel lacks
// tunnel GSO on taps). kAuto (the default): kTap where the kernel takes
// tunnel GSO on a tap, kUdp elsewhere (resolve_uplink_mode(), at start);
// a PCI uplink, --uplink-driver or --gateway (they apply to a DPDK uplink
// only) make it kDpdk when parsed.
enum class UplinkMode : std::uint8_t { kDpdk, kUdp, kTap, kAuto };

// Whether the kernel owns the VTEP address (kUdp, kTap, kAuto).
[[nodiscard]] constexpr bool kernel_uplink(UplinkMode mode) { return mode != UplinkMode::kDpdk; }

// How a kernel interface becomes a port. kAuto (uplink only): af_xdp,
// falling back to af_packet when af_xdp cannot start (or under --no-huge).
// kVnet (endpoints only): Ferry's AF_PACKET port with virtio-net headers
// (vnet_port.h); the others are DPDK PMDs.
enum class PortDriver : std::uint8_t { kAuto, kAfXdp, kAfPacket, kVnet };

const char* driver_name(PortDriver driver);

// Underlay MTUs the data plane accepts (the pipeline's range).
inline constexpr std::uint32_t kMinUplinkMtu = 576;
inline constexpr std::uint32_t kMaxUplinkMtu = 9216;

struct Config {
  // --uplink: a PCI address (0000:3b:00.0, bound to vfio-pci) or a kernel
  // interface name.
  std::string uplink;
  UplinkKind uplink_kind = UplinkKind::kInterface;
  UplinkMode uplink_mode = UplinkMode::kAuto;  // --uplink-mode auto|dpdk|udp|tap
  // --udp-send-sockets: kUdp's send sockets, one outer UDP source port each
  // (bound to VTEP:49152+i, skipping ports in use); the inner-flow hash
  // picks one per flow (RFC 7348 entropy for the receivers' RSS / reuseport).
  std::uint16_t udp_send_sockets = 16;
  PortDriver uplink_driver = PortDriver::kAuto;  // --uplink-driver, interfaces only

  dp_api::Ipv4Prefix vtep;              // --vtep-ip A.B.C.D/LEN: our underlay address
  std::optional<dp_api::Ipv4> gateway;  // --gateway: next hop for VTEPs outside `vtep`'s subnet

  std::string api_endpoint;  // --api ipc://PATH
  std::string api_path;      // PATH (the socket file)
  // --api-group NAME: the API socket is mode 0660 and owned by this group
  // (members may program the data plane); unset: mode 0600, root only.
  // Either way the mode is set explicitly, whatever the umask.
  std::string api_group;
  // --api-wait-s: when another process still listens on the API path (a
  // killed data plane whose memory the kernel is still tearing down), wait
  // this long for it to go away before giving up.
  std::uint32_t api_wait_s = 10;

  // --lcores: EAL lcore list; the first lcore is the control (main) lcore,
  // every other one a worker. Empty: "0,1" floating over the CPUs this
  // process may use (so several data planes share the machine).
  std::string lcores;

  bool no_huge = false;           // --no-huge: anonymous memory, af_packet only
  std::uint32_t memory_mb = 256;  // --memory-mb: EAL memory with --no-huge
  // --mbufs: mbufs in the packet pool; 0 = sized from the underlay MTU
  // (32767 standard ~2 KiB mbufs, ~75 MB; fewer, larger ones for a jumbo
  // underlay, about the same memory; see ports.h FrameSizes).
  std::uint32_t mbufs = 0;

  // --uplink-mtu: the underlay IPv4 MTU. 0 = the kernel interface's MTU (an
  // interface uplink) or 1500 (a PCI uplink). Every buffer size follows it.
  std::uint32_t uplink_mtu = 0;

  // --idle-sleep-us: longest back-off sleep of an idle worker, microseconds;
  // 0 = busy polling (benchmarks).
  std::uint32_t idle_sleep_us = 100;
  // --idle-spin-us: how long a worker keeps polling (spinning, yielding the
  // CPU now and then) after the last frame it received before it starts to
  // sleep; a request's answer usually comes back within it. 0 = sleep after
  // a short run of empty polls (the old behaviour). Ignored when busy polling.
  std::uint32_t idle_spin_us = 200;

  // --endpoint-driver: port type for container veths: vnet, af_packet or
  // af_xdp. See docs/dataplane.md, "Endpoint port types".
  PortDriver endpoint_driver = PortDriver::kAfPacket;

  std::uint16_t vxlan_port = 4789;    // --vxlan-port: UDP destination port
  std::uint32_t arp_timeout_s = 300;  // --arp-timeout-s: underlay ARP entry lifetime
  // --vtep-echo-ms: between two echo requests to each remote VTEP (VTEP
  // liveness, docs/dataplane.md "VTEP echo"); 0 sends none (requests are
  // still answered). --vtep-echo-vni: the echo's management VNI, which no
  // network may use (RFC 8971 leaves it to the operator; the same on every host).
  std::uint32_t vtep_echo_ms = 1000;
  std::uint32_t vtep_echo_vni = 0xffffff;

  std::string file_prefix;         // --file-prefix: EAL runtime prefix; empty = "ferry-<pid>"
  std::string log_level = "info";  // --log-level

  std::vector<std::string> eal_args;  // everything after "--", passed to EAL last

  // Checks the fields together (gateway inside the VTEP subnet, ranges).
  [[nodiscard]] Result<void> validate() const;
};

// Outcome of parsing: a Config, or the help text when --help was given.
struct ParsedArgs {
  Config config;
  std::optional<std::string> help;
};

// Parses argv (argv[0] is the program name). The error is one line.
Result<ParsedArgs> parse_args(int argc, const char* const* argv);

// True for "0000:3b:00.0" or "3b:00.0".
bool looks_like_pci_address(const std::string& text);

// The EAL argv (argv[0] included) for `config`; `pid` names the default
// file prefix and `cpus` (the CPUs this process may run on) the default
// lcore placement.
std::vector<std::string> eal_arguments(const Config& config, int pid, const std::vector<int>& cpus);

}  // namespace ferry::dataplane::app
