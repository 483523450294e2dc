#include "dataplane/app/ring_drops.h"

#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ferry::dataplane::app {
namespace {

// The fd still holds the socket we found (the PMD closes its sockets when
// the port stops; the number could be reused by then).
bool still_ours(const RingSocket& socket) {
  struct stat st {};
  return fstat(socket.fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == socket.inode;
}

// XDP_STATISTICS, or nullopt when the socket is not an XDP socket. `full`
// tells whether the kernel filled rx_ring_full (>= 5.9; before, ring-full
// drops were part of rx_dropped, which the PMD already reports).
std::optional<xdp_statistics> xdp_stats(int fd, bool& full) {
  xdp_statistics stats{};
  socklen_t len = sizeof stats;
  if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &stats, &len) != 0) {
    return std::nullopt;
  }
  full = len >= offsetof(xdp_statistics, rx_ring_full) + sizeof stats.rx_ring_full;
  return stats;
}

}  // namespace

std::optional<std::uint64_t> socket_inode(std::string_view link) {
  constexpr std::string_view kPrefix = "socket:[";
  if (link.size() <= kPrefix.size() + 1 || link.substr(0, kPrefix.size()) != kPrefix || link.back() != ']') {
    return std::nullopt;
  }
  const std::string_view digits = link.substr(kPrefix.size(), link.size() - kPrefix.size() - 1);
  std::uint64_t inode = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), inode);
  if (ec != std::errc{} || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return inode;
}

std::map<std::uint64_t, unsigned> parse_packet_sockets(std::string_view text) {
  // "sk RefCnt Type Proto Iface R Rmem User Inode", one socket per line.
  std::map<std::uint64_t, unsigned> out;
  std::istringstream in{std::string(text)};
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string sk;
    std::string proto;
    unsigned refcnt = 0;
    unsigned type = 0;
    unsigned iface = 0;
    unsigned running = 0;
    std::uint64_t rmem = 0;
    std::uint64_t user = 0;
    std::uint64_t inode = 0;
    if (fields >> sk >> refcnt >> type >> proto >> iface >> running >> rmem >> user >> inode) {
      out[inode] = iface;
    }
  }
  return out;
}

std::map<int, std::uint64_t> socket_fds() {
  std::map<int, std::uint64_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const std::string name = entry.path().filename().string();
    int fd = -1;
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc{}) {
      continue;
    }
    std::error_code link_ec;
    const auto target = std::filesystem::read_symlink(entry.path(), link_ec);
    if (link_ec) {
      continue;  // closed meanwhile (e.g. the iterator's own fd)
    }
    if (auto inode = socket_inode(target.string())) {
      out[fd] = *inode;
    }
  }
  return out;
}

std::vector<RingSocket> new_sockets(const std::map<int, std::uint64_t>& before,
                                    const std::map<int, std::uint64_t>& after) {
  std::vector<RingSocket> out;
  for (const auto& [fd, inode] : after) {
    const auto it = before.find(fd);
    if (it == before.end() || it->second != inode) {
      out.push_back(RingSocket{fd, inode});
    }
  }
  return out;
}

std::vector<RingSocket> packet_sockets_on(const std::vector<RingSocket>& fresh,
                                          const std::map<std::uint64_t, unsigned>& table, unsigned ifindex) {
  std::vector<RingSocket> out;
  std::copy_if(fresh.begin(), fresh.end(), std::back_inserter(out), [&](const RingSocket& s) {
    const auto it = table.find(s.inode);
    return it != table.end() && it->second == ifindex;
  });
  return out;
}

std::vector<RingSocket> ring_sockets(RingKind kind, unsigned ifindex, const std::vector<RingSocket>& fresh) {
  if (kind == RingKind::kAfPacket) {
    std::ifstream in("/proc/self/net/packet");
    std::stringstream text;
    text << in.rdbuf();
    return packet_sockets_on(fresh, parse_packet_sockets(text.str()), ifindex);
  }
  // An XDP socket does not tell its interface (no getsockname); the new
  // sockets of an af_xdp port's start are its own.
  std::vector<RingSocket> out;
  std::copy_if(fresh.begin(), fresh.end(), std::back_inserter(out), [](const RingSocket& s) {
    bool full = false;
    return xdp_stats(s.fd, full).has_value();
  });
  return out;
}

std::optional<std::uint64_t> read_ring_drops(RingKind kind, const RingSocket& socket) {
  if (!still_ours(socket)) {
    return std::nullopt;
  }
  if (kind == RingKind::kAfPacket) {
    tpacket_stats stats{};
    socklen_t len = sizeof stats;
    if (getsockopt(socket.fd, SOL_PACKET, PACKET_STATISTICS, &stats, &len) != 0) {
      return std::nullopt;
    }
    return stats.tp_drops;
  }
  bool full = false;
  const auto stats = xdp_stats(socket.fd, full);
  if (!stats) {
    return std::nullopt;
  }
  return full ? stats->rx_ring_full : 0;
}

void RingDrops::add(PortId port, RingKind kind, const std::vector<RingSocket>& sockets) {
  Port& p = ports_[port];
  p.kind = kind;
  p.sockets.clear();
  for (const auto& s : sockets) {
    p.sockets.push_back(Socket{s});
  }
}

void RingDrops::remove(PortId port) { ports_.erase(port); }

void RingDrops::poll() {
  for (auto& [id, port] : ports_) {
    poll(port);
  }
}

void RingDrops::poll(PortId port) {
  if (auto it = ports_.find(port); it != ports_.end()) {
    poll(it->second);
  }
}

void RingDrops::poll(Port& port) {
  for (auto& s : port.sockets) {
    if (s.gone) {
      continue;
    }
    const auto value = reader_(port.kind, s.socket);
    if (!value) {
      s.gone = true;
    } else if (port.kind == RingKind::kAfPacket) {
      s.value += *value;  // the kernel reset its counter
    } else {
      s.value = *value;
    }
  }
}

std::uint64_t RingDrops::dropped(PortId port) const {
  const auto it = ports_.find(port);
  if (it == ports_.end()) {
    return 0;
  }
  std::uint64_t total = 0;
  for (const auto& s : it->second.sockets) {
    total += s.value;
  }
  return total;
}

std::size_t RingDrops::sockets(PortId port) const {
  const auto it = ports_.find(port);
  return it == ports_.end() ? 0 : it->second.sockets.size();
}

}  // namespace ferry::dataplane::app
