// The API transport without a data plane: the REP server and the client
// round-trip requests, time out cleanly, and handle stale/live socket paths.
#include "dataplane/app/api_server.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "dataplane/api/client.h"
#include "dataplane/app/config.h"
#include "tests/dataplane/app/garbage_sender.h"

namespace ferry::dataplane::app {
namespace {

using namespace std::chrono_literals;
namespace v1 = ::ferry::dataplane::v1;

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / fmt::format("ferry-api-test-{}-{}", getpid(), name)).string();
}

// Serves with `server` until `stop`, answering health with the request's size.
class ServingThread {
 public:
  explicit ServingThread(ApiServer& server) {
    thread_ = std::thread([this, &server] {
      while (!stop_) {
        auto r = server.serve(10ms, [](std::span<const std::uint8_t> bytes) {
          v1::Request request;
          v1::Reply reply;
          if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
            reply.set_status(v1::STATUS_MALFORMED);
            reply.set_message("bad bytes");
          } else {
            reply.set_status(v1::STATUS_OK);
            reply.set_message(fmt::format("op {}", static_cast<int>(request.op_case())));
          }
          std::string out;
          reply.SerializeToString(&out);
          return out;
        });
        ASSERT_TRUE(r) << r.error().message;
      }
    });
  }
  ~ServingThread() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(ApiServer, RoundTripsAndRemovesItsSocket) {
  const auto path = temp_path("rt.sock");
  {
    auto server = ApiServer::bind(path, {});
    ASSERT_TRUE(server) << server.error().message;
    EXPECT_TRUE(std::filesystem::exists(path));
    ServingThread serving(**server);
    dp_api::Client client("ipc://" + path, 2s);
    v1::Request request;
    request.mutable_health_get();
    auto reply = client.call(request);
    ASSERT_TRUE(reply) << reply.error().message;
    EXPECT_EQ(reply->status(), v1::STATUS_OK);
    EXPECT_EQ(reply->message(), fmt::format("op {}", static_cast<int>(v1::Request::kHealthGet)));
    auto bad = client.call_raw(std::string("\xff\xff\xff\xff\x0f", 5));
    ASSERT_TRUE(bad) << bad.error().message;
    EXPECT_EQ(bad->status(), v1::STATUS_MALFORMED);
    // The server is still in step after a bad request.
    EXPECT_TRUE(client.call(request));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

// A message above the bound is never buffered whole: ZeroMQ cuts the
// connection, the server counts it, and answers the next client as before.
// Clients probe the path with a bare connect before each call; those
// connections fail the ZMTP handshake and are not counted, and neither are
// connections that delivered a request.
TEST(ApiServer, OversizeMessageIsCutAndCounted) {
  const auto path = temp_path("big.sock");
  auto server = ApiServer::bind(path, {}, 64 * 1024);
  ASSERT_TRUE(server) << server.error().message;
  v1::Request request;
  request.mutable_health_get();
  {
    ServingThread serving(**server);
    dp_api::Client good("ipc://" + path, 2s);
    for (int i = 0; i < 3; ++i) {
      auto reply = good.call(request);
      ASSERT_TRUE(reply) << reply.error().message;
    }
  }
  // Three probes and three answered connections: nothing cut.
  EXPECT_EQ((*server)->cut_connections(), 0U);
  {
    ServingThread serving(**server);
    dp_api::Client client("ipc://" + path, 500ms);
    auto big = client.call_raw(std::string(1 << 20, 'x'));
    EXPECT_FALSE(big) << "a 1 MiB message was answered";
    dp_api::Client good("ipc://" + path, 2s);
    auto reply = good.call(request);
    ASSERT_TRUE(reply) << reply.error().message;
    EXPECT_EQ(reply->status(), v1::STATUS_OK);
    auto just_under = good.call_raw(std::string(60 * 1024, '\xff'));
    ASSERT_TRUE(just_under) << just_under.error().message;
    EXPECT_EQ(just_under->status(), v1::STATUS_MALFORMED);
  }
  // The first cut happened as the big message's header arrived, long before
  // the good call, whose arrival drained the monitor: counted by now. (The
  // client resends on reconnect until it gives up, so there may be more.)
  EXPECT_GE((*server)->cut_connections(), 1U);
}

// No data plane at the path: said at once, not after the timeout; a socket
// file left by a data plane that exited is told apart.
TEST(ApiServer, ClientSaysWhenNoDataPlaneIsThere) {
  const auto path = temp_path("none.sock");
  dp_api::Client client("ipc://" + path, 200ms);
  v1::Request request;
  request.mutable_health_get();
  const auto start = std::chrono::steady_clock::now();
  auto reply = client.call(request);
  ASSERT_FALSE(reply);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_NE(reply.error().message.find("no socket at " + path + ": ferry-dataplane is not running"), std::string::npos)
      << reply.error().message;

  const auto stale = temp_path("left.sock");
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, stale.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(fd);
  auto refused = dp_api::Client("ipc://" + stale, 200ms).call(request);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("nothing listens on " + stale), std::string::npos) << refused.error().message;
  std::filesystem::remove(stale);
}

// Something accepts on the path and never answers: that is the timeout.
TEST(ApiServer, ClientTimesOutWhenNobodyAnswers) {
  const auto path = temp_path("silent.sock");
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  dp_api::Client client("ipc://" + path, 200ms);
  v1::Request request;
  request.mutable_health_get();
  auto reply = client.call(request);
  close(fd);
  std::filesystem::remove(path);
  ASSERT_FALSE(reply);
  EXPECT_NE(reply.error().message.find("no reply from " + path + " within 200 ms"), std::string::npos)
      << reply.error().message;
  EXPECT_NE(reply.error().message.find("accepted the connection but did not answer"), std::string::npos)
      << reply.error().message;
}

TEST(ApiServer, StaleSocketIsReusedLiveOneRefused) {
  const auto path = temp_path("stale.sock");
  // A socket file nobody listens on (a crashed process left it).
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(fd);
  auto state = probe_socket_path(path);
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, SocketPathState::kStale);

  auto first = ApiServer::bind(path, {});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*probe_socket_path(path), SocketPathState::kLive);
  auto second = ApiServer::bind(path, {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;
  first->reset();
  EXPECT_EQ(*probe_socket_path(path), SocketPathState::kFree);
}

TEST(ApiServer, RegularFileIsNotTakenOver) {
  const auto path = temp_path("file");
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fclose(f);
  }
  auto server = ApiServer::bind(path, {});
  EXPECT_FALSE(server);
  EXPECT_TRUE(std::filesystem::exists(path));
  std::filesystem::remove(path);
}

// The socket's mode never follows the umask: with umask 000 it was once
// world-writable, and any local user could program the data plane.
TEST(ApiServer, SocketModeIsExplicitWhateverTheUmask) {
  const mode_t old = umask(0);
  {
    const auto path = temp_path("mode.sock");
    auto server = ApiServer::bind(path, {});
    ASSERT_TRUE(server) << server.error().message;
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ((*server)->mode(), 0600u);
  }
  {
    const auto path = temp_path("group.sock");
    auto server = ApiServer::bind(path, ApiServer::Access{0660, getgid()});
    ASSERT_TRUE(server) << server.error().message;
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    EXPECT_EQ(st.st_gid, getgid());
    // Nothing left under the temporary name.
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
      EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
    }
  }
  umask(old);
}

TEST(ApiServer, UnknownGroupIsRefused) {
  Config c;
  c.api_group = "no-such-group-ferry";
  auto access = api_access(c);
  ASSERT_FALSE(access);
  EXPECT_NE(access.error().message.find("no such group"), std::string::npos) << access.error().message;
  c.api_group.clear();
  ASSERT_TRUE(api_access(c));
  EXPECT_EQ(api_access(c)->mode, 0600u);
}

// A data plane started while the killed one still holds the path waits for
// it instead of giving up at once.
TEST(ApiServer, WaitsForAPreviousProcessToLetGoOfThePath) {
  const auto path = temp_path("busy.sock");
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  auto refused = wait_for_api_path(path, 200ms);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("still in use"), std::string::npos) << refused.error().message;
  std::thread releaser([fd] {
    std::this_thread::sleep_for(300ms);
    close(fd);
  });
  EXPECT_TRUE(wait_for_api_path(path, 10s));
  releaser.join();
  auto server = ApiServer::bind(path, {});
  EXPECT_TRUE(server) << server.error().message;
}

// Connects to `path` as a ZMTP 1.0 peer (what libzmq takes random bytes
// for: a first byte other than 0xff), sends a routing id and one message of
// two parts with no empty delimiter, reads what the server sends back and
// closes. Returns false when it could not connect.
bool send_unframed_and_leave(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return false;
  }
  // [length 1, flags 0: empty routing id] [length 2, MORE, "a"] [length 2, last, "b"]
  const std::string frames{'\x01', '\x00', '\x02', '\x01', 'a', '\x02', '\x00', 'b'};
  const bool sent = write(fd, frames.data(), frames.size()) == static_cast<ssize_t>(frames.size());
  timeval wait{0, 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  char buffer[256];
  while (read(fd, buffer, sizeof buffer) > 0) {
  }
  close(fd);
  return sent;
}

// A message that is not a REQ client's request, from a connection that has
// gone by the time it is read (random bytes on the socket make those), is
// dropped and counted, and the next client is answered. With a REP socket,
// libzmq's rollback of such a message left its reply routing mid-message
// and the next client's reply was lost.
TEST(ApiServer, UnframedMessageFromAGoneConnectionDoesNotLoseTheNextReply) {
  const auto path = temp_path("unframed.sock");
  auto server = ApiServer::bind(path, {});
  ASSERT_TRUE(server) << server.error().message;
  v1::Request request;
  request.mutable_health_get();
  for (int round = 0; round < 5; ++round) {
    // Nobody reads while the peer sends and leaves, so the message waits in
    // the socket's queue of a connection that is closed.
    ASSERT_TRUE(send_unframed_and_leave(path)) << "round " << round;
    std::this_thread::sleep_for(100ms);
    ServingThread serving(**server);
    dp_api::Client client("ipc://" + path, 5s);
    auto reply = client.call(request);
    ASSERT_TRUE(reply) << "round " << round << ": " << reply.error().message;
    EXPECT_EQ(reply->status(), v1::STATUS_OK);
  }
  EXPECT_GE((*server)->unframed_messages(), 1U);
}

// Random bytes on many connections, and well-formed clients meanwhile: every
// call is answered (the deadline is generous; the point is "answered").
TEST(ApiServer, RandomBytesDoNotHoldUpOtherClients) {
  const auto path = temp_path("garbage.sock");
  auto server = ApiServer::bind(path, {});
  ASSERT_TRUE(server) << server.error().message;
  ServingThread serving(**server);
  dptest::GarbageSender garbage(path, 20ms, 300ms);
  v1::Request request;
  request.mutable_health_get();
  int answered = 0;
  constexpr int kCalls = 20;
  for (int i = 0; i < kCalls; ++i) {
    dp_api::Client client("ipc://" + path, 5s);
    auto reply = client.call(request);
    EXPECT_TRUE(reply) << "call " << i << " (seed " << garbage.seed() << "): " << reply.error().message;
    answered += reply ? 1 : 0;
    std::this_thread::sleep_for(50ms);
  }
  garbage.stop();
  EXPECT_EQ(answered, kCalls) << "seed " << garbage.seed();
}

}  // namespace
}  // namespace ferry::dataplane::app
