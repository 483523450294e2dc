// The unix-socket HTTP server on its own, with a trivial handler: socket
// file handling, keep-alive, limits, timeouts against slow and abandoned
// clients, concurrency and shutdown.
#include "plugins/http/unix_http_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/plugins/http/test_client.h"
#include "tests/plugins/temp_dir.h"

namespace ferry::plugins {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;
using testing::UnixClient;

// Answers 200 with "<target>:<body>"; "/throw" throws.
HttpResponse echo(const HttpRequest& request) {
  if (request.target == "/throw") throw std::runtime_error("boom");
  return HttpResponse{200, request.target + ":" + request.body};
}

// Polls `condition` until it holds or `timeout` passes.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

class UnixHttpServerTest : public ::testing::Test {
 protected:
  UnixHttpServerConfig config() {
    UnixHttpServerConfig config;
    config.socket_path = dir_.file("http.sock");
    return config;
  }
  void start(const UnixHttpServerConfig& config) {
    auto server = UnixHttpServer::start(config, echo);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }

  TempDir dir_;
  std::unique_ptr<UnixHttpServer> server_;
};

TEST(UnixHttpServerConfigTest, Validate) {
  UnixHttpServerConfig config;
  EXPECT_FALSE(config.validate());  // no path
  config.socket_path = "/run/x.sock";
  EXPECT_TRUE(config.validate());
  config.socket_path = "/" + std::string(200, 'a');
  EXPECT_FALSE(config.validate());
  config.socket_path = "/run/x.sock";
  config.socket_mode = 01777;
  EXPECT_FALSE(config.validate());
  config.socket_mode = 0660;
  config.request_timeout = 0ms;
  EXPECT_FALSE(config.validate());
}

TEST(ContentTypeTest, Table) {
  const struct {
    const char* type;
    bool accepted;
  } cases[] = {
      {"", true},
      {"application/json", true},
      {"Application/JSON; charset=utf-8", true},
      {"application/vnd.docker.plugins.v1+json", true},
      {"application/vnd.docker.plugins.v1.1+json", true},
      {"application/vnd.docker.plugins.v1.2+json", true},
      {"application/vnd.docker.plugins.v1.2", true},
      {"application/vnd.docker.plugins.v1.", false},
      {"application/vnd.docker.plugins.v2+json", false},
      {"application/vnd.docker.plugins.v1.x+json", false},
      {"text/plain", false},
      {"application/xml", false},
  };
  for (const auto& c : cases) EXPECT_EQ(acceptable_content_type(c.type), c.accepted) << c.type;
}

TEST_F(UnixHttpServerTest, SocketModeAndCleanup) {
  UnixHttpServerConfig c = config();
  c.socket_mode = 0600;
  start(c);
  struct stat info {};
  ASSERT_EQ(stat(c.socket_path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(info.st_uid, geteuid());
  server_->stop();
  EXPECT_NE(stat(c.socket_path.c_str(), &info), 0) << "socket file left behind";
}

TEST_F(UnixHttpServerTest, CreatesMissingParentDirectory) {
  UnixHttpServerConfig c = config();
  c.socket_path = dir_.file("run/docker/plugins/ferry.sock");
  start(c);
  UnixClient client;
  EXPECT_TRUE(client.connect(c.socket_path));
}

TEST_F(UnixHttpServerTest, StaleSocketIsReplaced) {
  const std::string path = config().socket_path;
  // A socket file nobody listens on, as a crashed agent leaves behind.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  close(fd);
  start(config());
  UnixClient client;
  ASSERT_TRUE(client.connect(path));
  const auto response = client.post("/x", "y");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "/x:y");
}

TEST_F(UnixHttpServerTest, LiveSocketIsRefused) {
  start(config());
  auto second = UnixHttpServer::start(config(), echo);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("is in use: another process is serving it"), std::string::npos)
      << second.error().message;
  // The first server is unharmed.
  UnixClient client;
  ASSERT_TRUE(client.connect(config().socket_path));
  EXPECT_TRUE(client.post("/x", ""));
}

TEST_F(UnixHttpServerTest, RegularFileIsNotReplaced) {
  std::ofstream(config().socket_path) << "data";
  auto server = UnixHttpServer::start(config(), echo);
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().message.find("exists and is not a socket"), std::string::npos) << server.error().message;
}

TEST_F(UnixHttpServerTest, KeepAlivePipeliningAndConnectionClose) {
  start(config());
  UnixClient client;
  ASSERT_TRUE(client.connect(config().socket_path));
  // Two requests in one write: both answered, in order, on one connection.
  ASSERT_TRUE(client.send(testing::docker_request("/a", "1") + testing::docker_request("/b", "2")));
  auto first = client.read_response();
  auto second = client.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "/a:1");
  EXPECT_EQ(second->body, "/b:2");
  EXPECT_EQ(first->headers["content-type"], "application/vnd.docker.plugins.v1.2+json");
  // Chunked bodies are accepted too.
  ASSERT_TRUE(client.send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  auto chunked = client.read_response();
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->body, "/c:abc");
  ASSERT_TRUE(client.send("POST /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  auto last = client.read_response();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->body, "/d:");
  EXPECT_TRUE(client.wait_closed(2s));
}

TEST_F(UnixHttpServerTest, HandlerExceptionBecomes500) {
  start(config());
  UnixClient client;
  ASSERT_TRUE(client.connect(config().socket_path));
  auto response = client.post("/throw", "");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500u);
  EXPECT_EQ(response->body, R"({"Err":"internal error: boom"})");
  response = client.post("/ok", "");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200u);
}

TEST_F(UnixHttpServerTest, BodyOverTheLimitGets413) {
  start(config());  // default limit: 1 MiB
  UnixClient client;
  ASSERT_TRUE(client.connect(config().socket_path));
  const std::string body((1 << 20) + 1, 'x');
  // The server answers once it sees Content-Length, before reading the body.
  client.send(testing::docker_request("/big", body));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413u);
  EXPECT_EQ(response->body, R"({"Err":"request body larger than 1048576 bytes"})");
  EXPECT_TRUE(client.wait_closed(2s));

  // A chunked body is cut off once it passes the limit.
  ASSERT_TRUE(client.connect(config().socket_path));
  std::string chunked = "POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 17; ++i) chunked += fmt::format("{:x}\r\n{}\r\n", 1 << 16, std::string(1 << 16, 'y'));
  client.send(chunked);
  response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413u);

  // Exactly at the limit is fine.
  ASSERT_TRUE(client.connect(config().socket_path));
  response = client.post("/max", std::string(1 << 20, 'z'));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200u);
  EXPECT_EQ(response->body.size(), (1u << 20) + 5);
}

TEST_F(UnixHttpServerTest, MalformedHttpGets400AndClose) {
  start(config());
  UnixClient client;
  ASSERT_TRUE(client.connect(config().socket_path));
  ASSERT_TRUE(client.send("NOT HTTP AT ALL\r\n\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400u);
  EXPECT_NE(response->body.find("bad HTTP request"), std::string::npos);
  EXPECT_TRUE(client.wait_closed(2s));

  ASSERT_TRUE(client.connect(config().socket_path));
  ASSERT_TRUE(client.send("POST /x HTTP/1.1\r\nX-Big: " + std::string(20'000, 'h') + "\r\n\r\n"));
  response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431u);
}

// A client sending one byte per second never completes its request: the
// server closes it after request_timeout, and serves others meanwhile.
TEST_F(UnixHttpServerTest, SlowClientIsClosedAfterRequestTimeout) {
  UnixHttpServerConfig c = config();
  c.request_timeout = 1500ms;
  start(c);
  const std::string request = testing::docker_request("/slow", "{}");
  std::atomic<bool> slow_closed{false};
  std::chrono::milliseconds slow_lifetime{};
  std::thread slow([&] {
    UnixClient client;
    if (!client.connect(c.socket_path)) return;
    const auto begin = std::chrono::steady_clock::now();
    for (const char byte : request) {
      if (!client.send(std::string_view(&byte, 1))) break;
      // Waits one second for the server to hang up, which also paces the bytes.
      if (client.wait_closed(1s)) break;
    }
    slow_lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
    slow_closed = true;
  });
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 1; }, 2s));
  // Meanwhile another client is served at once, several times.
  UnixClient fast;
  ASSERT_TRUE(fast.connect(c.socket_path));
  for (int i = 0; i < 3; ++i) {
    const auto begin = std::chrono::steady_clock::now();
    auto response = fast.post("/fast", "");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "/fast:");
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 1000ms);  // far below the slow client's 1.5 s
  }
  EXPECT_FALSE(slow_closed.load());
  slow.join();
  EXPECT_TRUE(slow_closed.load());
  EXPECT_GE(slow_lifetime, 1400ms);
  EXPECT_LT(slow_lifetime, 4000ms);
}

// Half a request, then silence: closed after request_timeout.
TEST_F(UnixHttpServerTest, AbandonedHalfRequestIsClosed) {
  UnixHttpServerConfig c = config();
  c.request_timeout = 500ms;
  start(c);
  std::vector<std::unique_ptr<UnixClient>> abandoned;
  for (int i = 0; i < 5; ++i) {
    abandoned.push_back(std::make_unique<UnixClient>());
    ASSERT_TRUE(abandoned.back()->connect(c.socket_path));
    ASSERT_TRUE(abandoned.back()->send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"Net"));
  }
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 5; }, 2s));
  UnixClient other;
  ASSERT_TRUE(other.connect(c.socket_path));
  EXPECT_TRUE(other.post("/other", ""));
  for (auto& client : abandoned) EXPECT_TRUE(client->wait_closed(3s));
  EXPECT_TRUE(eventually([&] { return server_->connection_count() == 1; }, 2s));
  EXPECT_TRUE(other.post("/other", ""));
}

TEST_F(UnixHttpServerTest, IdleKeepAliveConnectionIsClosed) {
  UnixHttpServerConfig c = config();
  c.idle_timeout = 300ms;
  start(c);
  UnixClient client;
  ASSERT_TRUE(client.connect(c.socket_path));
  EXPECT_TRUE(client.post("/x", ""));
  EXPECT_TRUE(client.wait_closed(3s));
  EXPECT_TRUE(eventually([&] { return server_->connection_count() == 0; }, 2s));
}

// At the limit a new connection closes the one that has waited longest for
// its next request: 128 idle connections once locked dockerd out for the
// whole idle timeout (120 s).
TEST_F(UnixHttpServerTest, AtTheLimitTheLongestIdleConnectionMakesRoom) {
  UnixHttpServerConfig c = config();
  c.max_connections = 2;
  start(c);
  UnixClient a;
  UnixClient b;
  UnixClient extra;
  ASSERT_TRUE(a.connect(c.socket_path));
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 1; }, 2s));
  ASSERT_TRUE(b.connect(c.socket_path));
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 2; }, 2s));
  EXPECT_TRUE(a.post("/a", ""));  // a is idle again, now more recently than b
  ASSERT_TRUE(extra.connect(c.socket_path));
  EXPECT_TRUE(extra.post("/extra", ""));
  EXPECT_TRUE(b.wait_closed(2s));
  EXPECT_TRUE(a.post("/a-again", ""));
  EXPECT_EQ(server_->evicted_count(), 1u);
}

// A connection in the middle of a request is never cut to make room; when
// every connection is mid-request the new one is refused instead.
TEST_F(UnixHttpServerTest, AtTheLimitRequestsInFlightAreNeverCut) {
  UnixHttpServerConfig c = config();
  c.max_connections = 2;
  start(c);
  UnixClient slow;
  UnixClient idle;
  ASSERT_TRUE(slow.connect(c.socket_path));
  ASSERT_TRUE(idle.connect(c.socket_path));
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 2; }, 2s));
  const std::string head = "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
  ASSERT_TRUE(slow.send(head + "{"));
  UnixClient first;
  ASSERT_TRUE(first.connect(c.socket_path));  // evicts `idle`, not `slow`
  EXPECT_TRUE(idle.wait_closed(2s));
  ASSERT_TRUE(first.send(head + "{"));  // now both are mid-request
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 2 && server_->idle_count() == 0; }, 2s));
  UnixClient refused;
  ASSERT_TRUE(refused.connect(c.socket_path));
  EXPECT_TRUE(refused.wait_closed(2s));
  ASSERT_TRUE(slow.send("}"));  // both requests still complete
  ASSERT_TRUE(first.send("}"));
  EXPECT_TRUE(slow.read_response(2s));
  EXPECT_TRUE(first.read_response(2s));
}

TEST_F(UnixHttpServerTest, StopClosesOpenConnections) {
  start(config());
  UnixClient idle;
  UnixClient half;
  ASSERT_TRUE(idle.connect(config().socket_path));
  ASSERT_TRUE(half.connect(config().socket_path));
  ASSERT_TRUE(half.send("POST /x HTTP/1.1\r\n"));
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 2; }, 2s));
  const auto begin = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 2s);
  EXPECT_TRUE(idle.wait_closed(1s));
  EXPECT_TRUE(half.wait_closed(1s));
  EXPECT_EQ(server_->connection_count(), 0u);
  UnixClient late;
  EXPECT_FALSE(late.connect(config().socket_path));
  server_->stop();  // idempotent
}

}  // namespace
}  // namespace ferry::plugins
