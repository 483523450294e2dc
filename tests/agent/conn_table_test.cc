#include "control/agent/conn_table.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ferry::agent {
namespace {

using namespace std::chrono_literals;

// A non-blocking loopback listener on an ephemeral port; returns its fd and port.
std::pair<int, std::uint16_t> listen_loopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 8) != 0) {
    return {-1, 0};
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return {fd, ntohs(sa.sin_port)};
}

// A blocking client socket, closed on scope exit.
struct Client {
  int fd = -1;
  explicit Client(std::uint16_t port) : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
  }
  ~Client() { ::close(fd); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  void send(const std::string& data) const { ASSERT_EQ(::send(fd, data.data(), data.size(), 0), ssize_t(data.size())); }
  // Everything until the server closes (or 5 s pass).
  [[nodiscard]] std::string read_to_eof() const {
    std::string out;
    char buf[256];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return out + "<timeout>";
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  bool connected = false;
};

class ConnTableTest : public ::testing::Test {
 protected:
  void make_table(std::size_t max_request, std::chrono::steady_clock::duration idle,
                  std::chrono::milliseconds reply = ConnTable::kReplyTimeout,
                  std::size_t max_reply_buffer = ConnTable::kMaxReplyBuffer) {
    auto [fd, port] = listen_loopback();
    ASSERT_GE(fd, 0);
    port_ = port;
    table_ = std::make_unique<ConnTable>(max_request, idle, reply, max_reply_buffer);
    table_->set_listener(fd);
    table_->set_write_watcher([this](int conn, bool want) { watched_.emplace_back(conn, want); });
  }
  // A connection whose socket buffers are small on both ends, so that a
  // reply of some hundred KiB cannot leave at once while the client does
  // not read.
  int accept_small(const Client& c) {
    const int small = 4096;
    ::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    const int fd = accept_one();
    if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    return fd;
  }
  // Accepts the one connection a client just made (connect() has returned,
  // so it waits in the backlog).
  int accept_one() {
    auto fds = table_->accept_all();
    return fds.size() == 1 ? fds[0] : -1;
  }
  // Reads until the status is not kOpen or `bytes` have arrived.
  ConnTable::ReadStatus read_until(int fd, std::size_t bytes) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      const auto status = table_->read(fd);
      if (status != ConnTable::ReadStatus::kOpen || table_->request(fd).size() >= bytes ||
          std::chrono::steady_clock::now() > deadline) {
        return status;
      }
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 100);
    }
  }

  std::uint16_t port_ = 0;
  std::unique_ptr<ConnTable> table_;
  std::vector<std::pair<int, bool>> watched_;  // what the write watcher was told
};

// What a client reads of a reply the table writes as the socket takes it:
// the client reads whatever is there, the table writes on POLLOUT, until
// the server closes (or 60 s pass).
std::string drain(ConnTable& table, int fd, const Client& c) {
  std::string out;
  char buf[65536];
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p[2] = {{fd, POLLOUT, 0}, {c.fd, POLLIN, 0}};
    ::poll(p, 2, 10);
    if ((p[0].revents & POLLOUT) != 0) table.on_writable(fd);
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return out;
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  return out + "<timeout>";
}

TEST_F(ConnTableTest, ReadsARequestAndReplies) {
  make_table(64, 60s);
  Client c(port_);
  ASSERT_TRUE(c.connected);
  const int fd = accept_one();
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(table_->accept_all().empty());
  c.send("hello");
  ASSERT_EQ(read_until(fd, 5), ConnTable::ReadStatus::kOpen);
  EXPECT_EQ(table_->request(fd), "hello");
  EXPECT_EQ(table_->reply_and_close(fd, "bye"), ConnTable::WriteStatus::kDone);
  EXPECT_EQ(c.read_to_eof(), "bye");
  EXPECT_TRUE(watched_.empty()) << "a reply that left at once needs no writable watch";
  EXPECT_EQ(table_->read(fd), ConnTable::ReadStatus::kClosed);  // forgotten
}

TEST_F(ConnTableTest, CapsTheRequestSize) {
  make_table(8, 60s);
  Client c(port_);
  const int fd = accept_one();
  ASSERT_GE(fd, 0);
  c.send("0123456789abcdef");
  ASSERT_EQ(read_until(fd, 16), ConnTable::ReadStatus::kTooLarge);
  EXPECT_EQ(table_->reply_and_close(fd, "too large"), ConnTable::WriteStatus::kDone);  // still open for the answer
  EXPECT_EQ(c.read_to_eof(), "too large");
}

TEST_F(ConnTableTest, PeerCloseForgetsTheConnection) {
  make_table(64, 60s);
  auto c = std::make_unique<Client>(port_);
  const int fd = accept_one();
  ASSERT_GE(fd, 0);
  c.reset();
  EXPECT_EQ(read_until(fd, 1), ConnTable::ReadStatus::kClosed);
  EXPECT_EQ(table_->read(fd), ConnTable::ReadStatus::kClosed);
  EXPECT_TRUE(table_->expire().empty());
}

TEST_F(ConnTableTest, ExpiresIdleConnectionsOnly) {
  make_table(64, 60s);
  Client fresh(port_);
  ASSERT_GE(accept_one(), 0);
  EXPECT_TRUE(table_->expire().empty());

  make_table(64, 1ms);
  Client idle(port_);
  const int fd = accept_one();
  ASSERT_GE(fd, 0);
  std::vector<int> expired;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (expired.empty() && std::chrono::steady_clock::now() < deadline) expired = table_->expire();
  EXPECT_EQ(expired, std::vector<int>{fd});
  EXPECT_EQ(idle.read_to_eof(), "");  // closed by the server
}

// A client that does not read its reply holds nothing up: the reply waits in
// its buffer (the loop is told to watch the fd), another client is answered
// meanwhile, and the reply arrives whole once the first client reads.
TEST_F(ConnTableTest, RepliesToASlowReaderWaitWithoutHoldingUpOthers) {
  make_table(64, 60s, 60s);
  Client slow(port_);
  const int slow_fd = accept_small(slow);
  ASSERT_GE(slow_fd, 0);
  const std::string big(128 * 1024, 'x');
  ASSERT_EQ(table_->reply_and_close(slow_fd, big), ConnTable::WriteStatus::kPending);
  EXPECT_EQ(watched_, (std::vector<std::pair<int, bool>>{{slow_fd, true}}));
  EXPECT_EQ(table_->writing(), 1U);

  Client other(port_);
  const int other_fd = accept_one();
  ASSERT_GE(other_fd, 0);
  other.send("hello");
  ASSERT_EQ(read_until(other_fd, 5), ConnTable::ReadStatus::kOpen);
  EXPECT_EQ(table_->reply_and_close(other_fd, "answered"), ConnTable::WriteStatus::kDone);
  EXPECT_EQ(other.read_to_eof(), "answered");

  EXPECT_TRUE(table_->expire().empty()) << "within its reply timeout";
  EXPECT_EQ(drain(*table_, slow_fd, slow), big);
  EXPECT_EQ(watched_.back(), (std::pair<int, bool>{slow_fd, false}));
  EXPECT_EQ(table_->writing(), 0U);
  EXPECT_EQ(table_->cut(), 0U);
}

// A client that does not read within the reply timeout is cut and counted.
TEST_F(ConnTableTest, AClientThatDoesNotReadIsCutAfterTheReplyTimeout) {
  make_table(64, 60s, 1ms);
  Client slow(port_);
  const int fd = accept_small(slow);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(table_->reply_and_close(fd, std::string(512 * 1024, 'x')), ConnTable::WriteStatus::kPending);
  std::vector<int> expired;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (expired.empty() && std::chrono::steady_clock::now() < deadline) expired = table_->expire();
  EXPECT_EQ(expired, std::vector<int>{fd});
  EXPECT_EQ(table_->cut(), 1U);
  EXPECT_EQ(watched_.back(), (std::pair<int, bool>{fd, false}));
  EXPECT_EQ(table_->on_writable(fd), ConnTable::WriteStatus::kCut);  // forgotten
}

// A reply that does not fit the connection's buffer bound is cut at once.
TEST_F(ConnTableTest, AReplyOverTheBufferBoundIsCut) {
  make_table(64, 60s, 60s, 16 * 1024);
  Client slow(port_);
  const int fd = accept_small(slow);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(table_->reply_and_close(fd, std::string(512 * 1024, 'x')), ConnTable::WriteStatus::kCut);
  EXPECT_EQ(table_->cut(), 1U);
  EXPECT_TRUE(watched_.empty());
  const std::string got = slow.read_to_eof();
  EXPECT_LT(got.size(), 512U * 1024) << "closed before the rest";
}

TEST_F(ConnTableTest, DestructorClosesListenerAndConnections) {
  make_table(64, 60s);
  Client c(port_);
  ASSERT_GE(accept_one(), 0);
  table_.reset();
  EXPECT_EQ(c.read_to_eof(), "");
  Client late(port_);
  EXPECT_FALSE(late.connected);
}

}  // namespace
}  // namespace ferry::agent
