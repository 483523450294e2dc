// Frames the kernel drops in a port's socket rings, which DPDK 22.11's PMDs
// leave out of `imissed`:
//
// - af_packet: the PMD never reads PACKET_STATISTICS (its stats only count
//   what it took from the ring), so a full RX ring loses frames silently.
//   The kernel's counter resets on every read, so reads are added up.
// - af_xdp: the PMD adds XDP_STATISTICS.rx_dropped (no free fill-ring buffer,
//   frame too large) but not rx_ring_full, which kernels since 5.9 count
//   apart when given the full struct (as the PMD does). It is cumulative.
//
// The PMDs' sockets are private, so they are found from outside: the socket
// fds that appear in /proc/self/fd while a port is probed and started,
// confirmed as the port's ring sockets (af_packet: /proc/net/packet lists
// the inode on the port's ifindex; af_xdp: the socket answers SOL_XDP), and
// checked again (fstat inode) before every read. Control thread only: read
// when stats are asked for and periodically (nothing is lost in between: the
// kernel keeps counting until the next read).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "dataplane/core/types.h"

namespace ferry::dataplane::app {

enum class RingKind : std::uint8_t { kAfPacket, kAfXdp };

struct RingSocket {
  int fd = -1;
  std::uint64_t inode = 0;
  friend bool operator==(const RingSocket&, const RingSocket&) = default;
};

// The inode of a /proc/self/fd link target "socket:[12345]".
std::optional<std::uint64_t> socket_inode(std::string_view link);

// /proc/net/packet's table: packet socket inode -> ifindex it is bound to.
std::map<std::uint64_t, unsigned> parse_packet_sockets(std::string_view text);

// This process's socket fds: fd -> inode.
std::map<int, std::uint64_t> socket_fds();

// Sockets in `after` that were not in `before` (a reused fd number with a
// new inode counts as new).
std::vector<RingSocket> new_sockets(const std::map<int, std::uint64_t>& before,
                                    const std::map<int, std::uint64_t>& after);

// Of `fresh`, the packet sockets bound to `ifindex` according to `table`.
std::vector<RingSocket> packet_sockets_on(const std::vector<RingSocket>& fresh,
                                          const std::map<std::uint64_t, unsigned>& table, unsigned ifindex);

// Of `fresh`, the ring sockets of a port of `kind` on `ifindex` (reads
// /proc/net/packet, or asks each socket for XDP_STATISTICS).
std::vector<RingSocket> ring_sockets(RingKind kind, unsigned ifindex, const std::vector<RingSocket>& fresh);

// One read of a socket's counter: af_packet, frames dropped since the last
// read; af_xdp, frames dropped on a full RX ring since the socket was made.
// nullopt when the fd no longer holds that socket or the read failed.
using RingReader = std::function<std::optional<std::uint64_t>(RingKind, const RingSocket&)>;
std::optional<std::uint64_t> read_ring_drops(RingKind kind, const RingSocket& socket);

// Per-port totals over its ring sockets.
class RingDrops {
 public:
  explicit RingDrops(RingReader reader = read_ring_drops) : reader_(std::move(reader)) {}

  // Starts counting `port`'s sockets (replacing what was there).
  void add(PortId port, RingKind kind, const std::vector<RingSocket>& sockets);
  // Forgets a port (before its sockets are closed).
  void remove(PortId port);
  // Reads every socket of every port, or of one, into the totals.
  void poll();
  void poll(PortId port);

  // Frames dropped in `port`'s rings as of the last poll; 0 for a port not added.
  [[nodiscard]] std::uint64_t dropped(PortId port) const;
  [[nodiscard]] std::size_t sockets(PortId port) const;

 private:
  struct Socket {
    RingSocket socket;
    std::uint64_t value = 0;  // af_packet: sum of reads; af_xdp: last read
    bool gone = false;        // a read failed: keep the value, stop reading
  };
  struct Port {
    RingKind kind = RingKind::kAfPacket;
    std::vector<Socket> sockets;
  };
  void poll(Port& port);

  RingReader reader_;
  std::map<PortId, Port> ports_;
};

}  // namespace ferry::dataplane::app
