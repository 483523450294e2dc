// ferry-bench gen: its one Config struct, the command line that fills it
// (CLI11) and the EAL arguments derived from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/gen/frame.h"
#include "common/result.h"

namespace ferry::bench::gen {

enum class Mode { kTx, kRx, kTxRx };

const char* mode_name(Mode mode);

struct GenConfig {
  Mode mode = Mode::kTxRx;

  // Ports: a DPDK port id ("0") or a device name as EAL knows it
  // ("0000:03:00.0", "net_af_xdp0"). Empty: taken from --pmd/--*-iface, or
  // port 0 for TX and port 1 (port 0 when there is only one) for RX.
  std::string tx_port;
  std::string rx_port;
  // Shortcut for kernel interfaces: "af_packet" or "af_xdp" adds the vdevs
  // for tx_iface / rx_iface (the same interface once if both are equal).
  std::string pmd;
  std::string tx_iface;
  std::string rx_iface;

  FrameSpec frame;
  bool src_mac_given = false;  // otherwise: the TX port's MAC
  bool dst_mac_given = false;  // otherwise: the RX port's MAC in txrx, broadcast in tx

  std::uint64_t rate_pps = 0;  // 0: as fast as the port takes them
  double duration_s = 5.0;     // TX: how long to send; RX alone: how long to listen at most
  std::uint64_t count = 0;     // TX stops after this many packets (0: no limit)
  std::uint32_t burst = 32;    // packets per rte_eth_tx_burst / rx_burst
  double drain_s = 1.0;        // RX listens this long after TX stops (txrx) or after the last frame (rx)

  std::uint16_t tx_desc = 1024;
  std::uint16_t rx_desc = 1024;
  std::uint32_t tx_pool_size = 8191;  // prebuilt TX mbufs (2^n - 1 suits the mempool)
  std::uint32_t rx_pool_size = 8191;

  // Idle loops (nothing due, nothing received) call sched_yield() so kernel
  // threads sharing the core (ksoftirqd moving veth/AF_XDP traffic) get to
  // run; costs nothing when the core is otherwise free. --busy-poll: never yield.
  bool busy_poll = false;

  bool json = false;        // one JSON object on stdout instead of the table
  double interval_s = 0.0;  // progress line on stderr every interval (0: none)

  [[nodiscard]] bool sends() const { return mode != Mode::kRx; }
  [[nodiscard]] bool receives() const { return mode != Mode::kTx; }
  Result<void> validate() const;
};

struct CommandLine {
  GenConfig config;
  std::vector<std::string> user_eal_args;  // what followed "--"
  bool help = false;                       // --help was asked; text is in help_text
  std::string help_text;
};

// Parses `gen MODE [options] [-- EAL args]` (argv[0] is "gen"). Errors say
// which option is wrong; the result is validated.
Result<CommandLine> parse_command_line(int argc, char** argv);

// Parses "1000", "2.5k", "1M", "1.5G" into packets per second.
Result<std::uint64_t> parse_rate(std::string_view text);

// Bytes of buffer one frame needs (mbuf data room without headroom, and the
// af_packet ring slot): 2048 up to ordinary frames, else the frame plus
// room for the tpacket header, rounded up to 1 KiB.
constexpr std::uint32_t frame_buffer_size(std::uint32_t frame_size) {
  return frame_size <= 1900 ? 2048 : (frame_size + 128 + 1023) / 1024 * 1024;
}

// The vdev names the --pmd shortcut creates.
std::string tx_vdev_name(const GenConfig& config);
std::string rx_vdev_name(const GenConfig& config);

// argv for rte_eal_init: program name, the vdevs of the --pmd shortcut, the
// user's EAL arguments, then defaults the user did not set so several
// generators run side by side: --file-prefix=ferry-gen-PID, --in-memory
// (unless --no-huge: EAL refuses both), --log-level=warning, --no-telemetry
// (no socket per generator), and --no-pci
// when only kernel interfaces are used.
std::vector<std::string> eal_arguments(const GenConfig& config, const std::vector<std::string>& user_args, int pid);

}  // namespace ferry::bench::gen
