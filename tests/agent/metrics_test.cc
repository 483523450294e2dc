#include "control/agent/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace ferry::agent {
namespace {

TEST(MetricsWriter, ExpositionFormat) {
  MetricsWriter w;
  w.family("ferry_x_total", "counter", "things");
  w.sample("ferry_x_total", {{"reason", "a\"b"}, {"vni", "7"}}, 3);
  w.sample("ferry_x_total", 1.5);
  EXPECT_EQ(w.text(),
            "# HELP ferry_x_total things\n# TYPE ferry_x_total counter\n"
            "ferry_x_total{reason=\"a\\\"b\",vni=\"7\"} 3\nferry_x_total 1.5\n");
}

std::string http_get(std::uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return "connect failed";
  }
  (void)!::write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

TEST(MetricsServer, ServesMetricsAnsweredLaterAnd404) {
  // The body is given on a later loop turn, as the agent does while it waits
  // for the data plane's counters.
  std::vector<MetricsServer::Respond> later;
  MetricsServer server(gossip::Address{0x7f000001U, 0},
                       [&later](const MetricsServer::Respond& respond) { later.push_back(respond); });
  auto fd = server.open();
  ASSERT_TRUE(fd) << fd.error().message;
  ASSERT_NE(server.bound().port, 0);
  std::atomic<bool> done{false};
  std::thread serve([&] {
    std::vector<int> conns;
    while (!done.load()) {
      for (int c : server.accept_all()) conns.push_back(c);
      std::erase_if(conns, [&](int c) { return !server.on_readable(c); });
      for (const auto& respond : later) respond("ferry_up 1\n");
      later.clear();
      std::this_thread::yield();
    }
  });
  const std::string ok = http_get(server.bound().port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << ok;
  EXPECT_NE(ok.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(ok.find("\r\n\r\nferry_up 1\n"), std::string::npos) << ok;
  EXPECT_EQ(http_get(server.bound().port, "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0U);
  EXPECT_EQ(http_get(server.bound().port, "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0U);
  done.store(true);
  serve.join();
}

}  // namespace
}  // namespace ferry::agent
