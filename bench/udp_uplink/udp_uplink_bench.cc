// ferry-bench udp_uplink: the receive side of the kernel-UDP uplink on
// loopback, in its two delivery modes: kPayload (each datagram an mbuf
// attached to the receive buffer, no copy) and kFrame (each datagram copied
// into a pool mbuf behind a synthesized outer header, so today's
// decapsulation takes it; inner super-frames cut into segments with their
// checksums).
//
// Cases: a UDP_GRO batch (another UdpUplink sends 44 full-size datagrams per
// UDP_SEGMENT send) and a Linux peer's 64 KB TCP super-frame (one datagram,
// partial inner checksum). Time is the receiving thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID) inside rx_burst and freeing the mbufs, recvmmsg
// included; the sending is not timed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "bench/command.h"
#include "dataplane/app/udp_uplink.h"
#include "dataplane/app/udp_wire.h"

namespace ferry::bench {
namespace {

using dataplane::app::UdpCounter;
using dataplane::app::UdpDelivery;
using dataplane::app::UdpUplink;
using dataplane::app::UdpUplinkConfig;
using Bytes = std::vector<std::uint8_t>;

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t n) {
  std::uint32_t s = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) s += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  return s;
}
std::uint16_t fold(std::uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(s);
}

// VXLAN header + Ethernet + IPv4 + TCP (32-byte header) + payload. With
// `partial`, the TCP checksum holds the pseudo-header sum (a Linux peer's
// super-frame); else a zero checksum (not a partial one: nothing to do).
Bytes vxlan_tcp(std::uint32_t payload, bool partial) {
  Bytes d(8 + 14 + 20 + 32 + payload, 0x5a);
  d[0] = 0x08;
  std::uint8_t* eth = d.data() + 8;
  std::memset(eth, 0, 14);
  eth[0] = 0x02;
  put16(eth + 12, 0x0800);
  std::uint8_t* ip = eth + 14;
  std::memset(ip, 0, 20);
  ip[0] = 0x45;
  put16(ip + 2, 20 + 32 + payload);
  ip[8] = 64;
  ip[9] = 6;
  ip[12] = 10;
  ip[15] = 1;
  ip[16] = 10;
  ip[19] = 2;
  put16(ip + 10, static_cast<std::uint16_t>(~fold(sum16(ip, 20))));
  std::uint8_t* tcp = ip + 20;
  std::memset(tcp, 0, 32);
  put16(tcp, 40000);
  put16(tcp + 2, 5201);
  tcp[12] = 8 << 4;
  tcp[13] = 0x10;
  if (partial) put16(tcp + 16, fold(sum16(ip + 12, 8) + 6 + 32 + payload));
  return d;
}

struct Result {
  double ns_per_datagram = 0;
  double gbit_per_s = 0;
  std::uint64_t delivered = 0;
};

// Receives `want` frames from `rx`, timing rx_burst + free.
std::uint64_t drain(UdpUplink& rx, std::uint64_t want, double& seconds) {
  rte_mbuf* burst[32];
  std::uint64_t got = 0;
  int idle = 0;
  while (got < want && idle < 1000000) {
    const double t0 = thread_seconds();
    const std::uint16_t n = rx.rx_burst(0, burst, 32);
    rte_pktmbuf_free_bulk(burst, n);
    seconds += thread_seconds() - t0;
    got += n;
    idle = n == 0 ? idle + 1 : 0;
  }
  return got;
}

UdpUplinkConfig base_config(std::uint16_t port, UdpDelivery delivery) {
  UdpUplinkConfig c;
  c.local.bytes = {127, 0, 0, 1};
  c.udp_port = port;
  c.src_port_base = 0;
  c.send_sockets = 1;
  c.delivery = delivery;
  c.rcvbuf_bytes = 32u << 20;
  c.rx_buffers = 64;
  return c;
}

int run(int argc, char** argv) {
  int rounds = 2000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else {
      std::printf("usage: ferry-bench udp_uplink [--rounds N]   (default 2000)\n");
      return std::strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  std::string prefix = "--file-prefix=ferry-bench-udp-" + std::to_string(getpid());
  const char* eal[] = {
      "ferry-bench", "--no-huge",         "-m",          "512", "--no-pci", "--no-shconf", "--no-telemetry",
      "--lcores=0",  "--log-level=error", prefix.c_str()};
  std::vector<char*> eal_argv;
  for (const char* a : eal) eal_argv.push_back(const_cast<char*>(a));
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "ferry-bench udp_uplink: EAL initialisation failed\n");
    return 1;
  }
  rte_mempool* pool = rte_pktmbuf_pool_create("bench_udp", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (pool == nullptr) return 1;

  std::printf("%-34s %-8s %12s %10s\n", "case", "mode", "ns/datagram", "Gbit/s");
  for (const bool superframe : {false, true}) {
    for (const UdpDelivery mode : {UdpDelivery::kPayload, UdpDelivery::kFrame}) {
      auto rx = UdpUplink::open(base_config(static_cast<std::uint16_t>(47000 + getpid() % 1000), mode), pool);
      if (!rx) {
        std::fprintf(stderr, "ferry-bench udp_uplink: %s\n", rx.error().message.c_str());
        return 1;
      }
      const int fd = socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      to.sin_port = htons((*rx)->config().udp_port);
      // A batch: 44 datagrams of 1472 bytes in one UDP_SEGMENT send; a
      // super-frame: one 65 000-byte datagram.
      const Bytes one = superframe ? vxlan_tcp(65000 - 74, true) : vxlan_tcp(1472 - 74, false);
      Bytes batch;
      for (int i = 0; i < (superframe ? 1 : 44); ++i) batch.insert(batch.end(), one.begin(), one.end());
      const std::uint16_t gso = static_cast<std::uint16_t>(one.size());
      double seconds = 0;
      std::uint64_t datagrams = 0;
      std::uint64_t bytes = 0;
      for (int r = 0; r < rounds; ++r) {
        char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
        iovec iov{batch.data(), batch.size()};
        msghdr h{};
        h.msg_name = &to;
        h.msg_namelen = sizeof to;
        h.msg_iov = &iov;
        h.msg_iovlen = 1;
        if (!superframe) {
          h.msg_control = control;
          h.msg_controllen = sizeof control;
          cmsghdr* c = CMSG_FIRSTHDR(&h);
          c->cmsg_level = SOL_UDP;
          c->cmsg_type = UDP_SEGMENT;
          c->cmsg_len = CMSG_LEN(sizeof gso);
          std::memcpy(CMSG_DATA(c), &gso, sizeof gso);
        }
        if (sendmsg(fd, &h, 0) < 0) {
          std::perror("sendmsg");
          return 1;
        }
        const std::uint64_t want = superframe ? (mode == UdpDelivery::kFrame ? 47 : 1) : 44;
        datagrams += drain(**rx, want, seconds) == want ? (superframe ? 1 : 44) : 0;
        bytes += batch.size();
      }
      close(fd);
      const auto st = (*rx)->stats();
      const double ns = seconds * 1e9 / static_cast<double>(datagrams == 0 ? 1 : datagrams);
      std::printf("%-34s %-8s %12.0f %10.1f   (%llu datagrams, %llu segments made)\n",
                  superframe ? "64 KB TCP super-frame (1 datagram)" : "GRO batch, 44 x 1472 B",
                  mode == UdpDelivery::kPayload ? "payload" : "frame", ns,
                  static_cast<double>(bytes) * 8 / seconds / 1e9,
                  static_cast<unsigned long long>(st[UdpCounter::rx_datagrams]),
                  static_cast<unsigned long long>(st[UdpCounter::rx_segments]));
    }
  }
  rte_eal_cleanup();
  return 0;
}

}  // namespace

FERRY_BENCH_COMMAND(udp_uplink, "kernel-UDP uplink receive: zero-copy payloads vs synthesized frames", run);

}  // namespace ferry::bench
