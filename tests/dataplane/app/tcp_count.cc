// tcp_count: a bounded TCP transfer whose every byte is checked, for the
// integration tests (iperf3's byte counts leave out what is still in flight
// when it stops, so they cannot prove that everything arrived).
//
//   tcp_count recv PORT            accept one connection, read to EOF, verify
//                                  the pattern; prints "received N bad M"
//                                  (M: bytes that differ), exits 0 if M == 0
//   tcp_count send IP PORT BYTES   connect (retrying for 10 s), send BYTES of
//                                  the pattern, half-close, wait for the
//                                  receiver to close; exits 0 when it has
//
// The pattern is a pseudo-random block of a prime length (65 521 bytes)
// repeated, so no segment or super-frame boundary lines up with it and a
// byte moved, lost or duplicated anywhere shows.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t kPatternLen = 65521;

std::vector<unsigned char> pattern() {
  std::vector<unsigned char> p(kPatternLen);
  std::uint32_t x = 2463534242U;
  for (auto& b : p) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<unsigned char>(x >> 24);
  }
  return p;
}

int recv_side(int port) {
  const int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (ls < 0 || bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(ls, 1) != 0) {
    std::perror("tcp_count recv: listen");
    return 2;
  }
  const int s = accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
  if (s < 0) {
    std::perror("tcp_count recv: accept");
    return 2;
  }
  const auto p = pattern();
  std::array<unsigned char, 1 << 16> buf{};
  std::uint64_t total = 0;
  std::uint64_t bad = 0;
  for (;;) {
    const ssize_t n = read(s, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::perror("tcp_count recv: read");
      return 2;
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      bad += static_cast<std::uint64_t>(buf[static_cast<std::size_t>(i)] !=
                                        p[(total + static_cast<std::uint64_t>(i)) % kPatternLen]);
    }
    total += static_cast<std::uint64_t>(n);
  }
  std::printf("received %llu bad %llu\n", static_cast<unsigned long long>(total), static_cast<unsigned long long>(bad));
  std::fflush(stdout);
  close(s);
  close(ls);
  return bad == 0 ? 0 : 1;
}

int send_side(const char* ip, int port, std::uint64_t bytes) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
    std::fprintf(stderr, "tcp_count send: bad address %s\n", ip);
    return 2;
  }
  int s = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) break;
    close(s);
    if (std::chrono::steady_clock::now() > deadline) {
      std::perror("tcp_count send: connect");
      return 2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto p = pattern();
  std::uint64_t sent = 0;
  while (sent < bytes) {
    const std::size_t off = sent % kPatternLen;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes - sent, kPatternLen - off));
    const ssize_t w = write(s, p.data() + off, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      std::perror("tcp_count send: write");
      return 2;
    }
    sent += static_cast<std::uint64_t>(w);
  }
  shutdown(s, SHUT_WR);
  char c = 0;
  while (read(s, &c, 1) > 0) {
  }
  close(s);
  std::printf("sent %llu\n", static_cast<unsigned long long>(sent));
  return 0;
}

// A whole decimal number in [0, max], or nullopt.
std::optional<unsigned long long> number(std::string_view text, unsigned long long max) {
  unsigned long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = argc >= 3 ? number(argv[argc == 5 ? 3 : 2], 65535) : std::nullopt;
  if (argc == 3 && std::string(argv[1]) == "recv" && port) return recv_side(static_cast<int>(*port));
  if (argc == 5 && std::string(argv[1]) == "send" && port) {
    const auto bytes = number(argv[4], std::numeric_limits<unsigned long long>::max());
    if (bytes) return send_side(argv[2], static_cast<int>(*port), *bytes);
  }
  std::fprintf(stderr, "usage: tcp_count recv PORT | tcp_count send IP PORT BYTES\n");
  return 2;
}
