#include "control/gossip/net_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

namespace ferry::gossip {

namespace {

const char* const kNetCounterNames[] = {
#define FERRY_X(name, help) #name,
    FERRY_NET_COUNTERS(FERRY_X)
#undef FERRY_X
};

sockaddr_in to_sockaddr(const Address& a) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(a.ip);
  sa.sin_port = htons(a.port);
  return sa;
}

Address from_sockaddr(const sockaddr_in& sa) { return Address{ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)}; }

constexpr std::string_view kTimedOut = "timed out";

// ---- rate-limited warnings
// Reasons: the envelope's drops on datagrams, the same on stream headers,
// then the transport's own.
constexpr std::size_t kDrops = static_cast<std::size_t>(EnvelopeDrop::kCount);

#define FERRY_NET_LOG_REASONS(X)                                                                               \
  X(kStreamOversize, "a stream message longer than the limit", "stream messages longer than the limit",        \
    "a key holder announced more than max_frame_size bytes")                                                   \
  X(kStreamBadBody, "a stream message whose body did not verify", "stream messages whose body did not verify", \
    "damaged, cut or spliced after a valid header")                                                            \
  X(kStreamUnauthenticated, "a connection that ended before proving the cluster key",                          \
    "connections that ended before proving the cluster key",                                                   \
    "closed or timed out within the sealed header: not a member")                                              \
  X(kEvicted, "evicted an unauthenticated connection", "unauthenticated connections evicted",                  \
    "max_inbound_streams reached, room made for a new one: a connection flood?")                               \
  X(kRefusedFull, "refused a connection", "connections refused",                                               \
    "max_inbound_streams reached and none of them unauthenticated")                                            \
  X(kRefusedSource, "refused a connection", "connections refused",                                             \
    "max_inbound_per_source reached for that IP: a connection flood?")

enum class NetLogReason : std::size_t {
  kFirst = 2 * kDrops - 1,  // the enumerators below follow the envelope's reasons
#define FERRY_X(name, one, many, why) name,
  FERRY_NET_LOG_REASONS(FERRY_X)
#undef FERRY_X
      kEnd
};
constexpr std::size_t kNetLogReasons = static_cast<std::size_t>(NetLogReason::kEnd);

struct ReasonText {
  const char* one;
  const char* many;
  const char* why;
};
constexpr ReasonText kNetReasonText[] = {
#define FERRY_X(name, one, many, why) {one, many, why},
    FERRY_NET_LOG_REASONS(FERRY_X)
#undef FERRY_X
};

std::size_t datagram_reason(EnvelopeDrop d) { return static_cast<std::size_t>(d); }
std::size_t stream_reason(EnvelopeDrop d) { return kDrops + static_cast<std::size_t>(d); }
std::size_t reason(NetLogReason r) { return static_cast<std::size_t>(r); }

// What an envelope drop usually means, for the operator reading the line.
const char* drop_hint(EnvelopeDrop d) {
  switch (d) {
    case EnvelopeDrop::kTooShort:
    case EnvelopeDrop::kBadChannel:
      return "garbage, not Ferry gossip";
    case EnvelopeDrop::kOversize:
      return "garbage, or a peer with a larger size limit";
    case EnvelopeDrop::kBadVersion:
      return "garbage, or a host running an incompatible Ferry version";
    case EnvelopeDrop::kUnknownKey:
      return "a host with another cluster key, or a key this host has not installed yet";
    case EnvelopeDrop::kAuthFailed:
      return "";  // the help text says it all
    case EnvelopeDrop::kStale:
      return "a clock off by more than the replay window, or a replay";
    case EnvelopeDrop::kReplay:
      return "a replayed message";
    case EnvelopeDrop::kCount:
      break;
  }
  return "";
}

// A response is sealed for the requester's address with port 0: the
// requester connects from an ephemeral port, and what identifies it is its IP.
Address response_recipient(const Address& requester) { return Address{requester.ip, 0}; }

}  // namespace

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* net_counter_name(NetCounter c) { return kNetCounterNames[static_cast<std::size_t>(c)]; }

Result<void> NetTransportConfig::validate() const {
  if (bind.ip == 0 || bind.port == 0) {
    return make_error("bind address {} must name one IPv4 address and a port (not 0.0.0.0 or port 0): it is advertised",
                      bind.to_string());
  }
  if (stream_timeout.count() <= 0) return make_error("stream_timeout must be > 0 ms");
  if (max_inbound_streams == 0) return make_error("max_inbound_streams must be >= 1");
  if (max_inbound_per_source == 0 || max_inbound_per_source > max_inbound_streams) {
    return make_error("max_inbound_per_source must be in [1, max_inbound_streams ({})]", max_inbound_streams);
  }
  return envelope.validate();
}

struct NetTransport::Conn {
  std::uint64_t serial = 0;  // tells a reused fd number from the polled one
  int fd = -1;
  bool outbound = false;
  bool connecting = false;
  bool responding = false;  // inbound: writing the response, then close
  std::uint64_t request_id = 0;
  Address peer;
  TimePoint deadline;
  std::string out;
  std::size_t out_off = 0;
  std::optional<StreamReader> reader;  // inbound: the request; outbound: the response
};

NetTransport::NetTransport(NetTransportConfig config, const Keyring& keyring, Clock& clock, std::uint64_t instance)
    : config_(config),
      clock_(clock),
      envelope_(keyring, config.envelope, instance),
      log_limiter_(kNetLogReasons, kLogInterval) {}

Result<std::unique_ptr<NetTransport>> NetTransport::open(NetTransportConfig config, const Keyring& keyring,
                                                         Clock& clock, std::uint64_t instance) {
  if (auto r = config.validate(); !r) return r.error();
  if (keyring.empty()) return make_error("the key ring is empty");
  if (sodium_init() < 0) return make_error("libsodium failed to initialize");
  if (instance == 0) randombytes_buf(&instance, sizeof instance);
  std::unique_ptr<NetTransport> t(new NetTransport(config, keyring, clock, instance));
  if (auto r = t->bind_sockets(); !r) return r.error();
  return t;
}

Result<void> NetTransport::bind_sockets() {
  const sockaddr_in sa = to_sockaddr(config_.bind);
  udp_fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (udp_fd_ < 0) return make_sys_error(errno, "UDP socket");
  if (::bind(udp_fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    return make_sys_error(errno, "bind UDP {}", config_.bind.to_string());
  }
  const int buf = 4 << 20;
  ::setsockopt(udp_fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);  // best effort
  tcp_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (tcp_fd_ < 0) return make_sys_error(errno, "TCP socket");
  const int one = 1;
  ::setsockopt(tcp_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(tcp_fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    return make_sys_error(errno, "bind TCP {}", config_.bind.to_string());
  }
  if (::listen(tcp_fd_, 128) != 0) return make_sys_error(errno, "listen TCP {}", config_.bind.to_string());
  rx_buf_.resize(65536);
  return ok();
}

NetTransport::~NetTransport() {
  for (auto& [fd, conn] : conns_) ::close(fd);
  if (udp_fd_ >= 0) ::close(udp_fd_);
  if (tcp_fd_ >= 0) ::close(tcp_fd_);
}

void NetTransport::send_packet(const Address& to, std::string data) {
  const std::string wire = envelope_.seal(Channel::kDatagram, to, data, wall_clock_ms());
  if (wire.size() > config_.envelope.max_datagram_size) {
    count(NetCounter::udp_tx_dropped);
    return;
  }
  const sockaddr_in sa = to_sockaddr(to);
  if (::sendto(udp_fd_, wire.data(), wire.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) <
      0) {
    count(NetCounter::udp_tx_dropped);  // best effort: EAGAIN, unreachable, ...
    return;
  }
  count(NetCounter::udp_tx);
}

void NetTransport::request(const Address& to, uint64_t request_id, std::string data) {
  count(NetCounter::tcp_out);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    deferred_failures_.emplace_back(request_id, fmt::format("socket: {}", errno_string(errno)));
    return;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Connect from our own address so the peer sees a cluster address.
  sockaddr_in local = to_sockaddr(Address{config_.bind.ip, 0});
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    const int err = errno;  // read before to_string() can allocate
    deferred_failures_.emplace_back(
        request_id, fmt::format("bind {}: {}", Address{config_.bind.ip, 0}.to_string(), errno_string(err)));
    ::close(fd);
    return;
  }
  const sockaddr_in sa = to_sockaddr(to);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    deferred_failures_.emplace_back(request_id, fmt::format("connect {}: {}", to.to_string(), errno_string(err)));
    ::close(fd);
    return;
  }
  auto c = std::make_unique<Conn>();
  c->serial = ++next_serial_;
  c->fd = fd;
  c->outbound = true;
  c->connecting = true;
  c->request_id = request_id;
  c->peer = to;
  c->deadline = clock_.now() + config_.stream_timeout;
  c->out = seal_stream(envelope_, to, data, wall_clock_ms());
  c->reader.emplace(envelope_, response_recipient(config_.bind), config_.envelope.max_frame_size);
  conns_.emplace(fd, std::move(c));
}

void NetTransport::watch(int fd, std::function<void()> on_readable) { watched_[fd] = std::move(on_readable); }
void NetTransport::unwatch(int fd) { watched_.erase(fd); }

TimePoint NetTransport::next_deadline() const {
  if (!deferred_failures_.empty()) return clock_.now();
  TimePoint t = kNever;
  for (const auto& [fd, c] : conns_) t = std::min(t, c->deadline);
  return t;
}

void NetTransport::collect(std::vector<pollfd>& fds) {
  polled_serials_.clear();
  fds.push_back({udp_fd_, POLLIN, 0});
  fds.push_back({tcp_fd_, POLLIN, 0});
  polled_serials_.assign(2, 0);
  for (const auto& [fd, c] : conns_) {
    short events = 0;
    if (c->connecting || c->out_off < c->out.size()) events |= POLLOUT;
    if (!c->connecting && c->out_off >= c->out.size()) events |= POLLIN;
    fds.push_back({fd, events, 0});
    polled_serials_.push_back(c->serial);
  }
}

void NetTransport::dispatch(std::span<const pollfd> fds) {
  handle_ready(fds);
  expire();
}

void NetTransport::handle_ready(std::span<const pollfd> fds) {
  for (std::size_t i = 0; i < fds.size() && i < polled_serials_.size(); ++i) {
    const pollfd& p = fds[i];
    if (p.revents == 0) continue;
    if (i == 0) {
      read_udp();
    } else if (i == 1) {
      accept_tcp();
    } else {
      auto c = conns_.find(p.fd);
      if (c != conns_.end() && c->second->serial == polled_serials_[i]) service(p.fd, p.revents);
    }
  }
  polled_serials_.clear();
}

void NetTransport::expire() {
  // Timeouts and failures queued by request().
  const TimePoint after = clock_.now();
  std::vector<int> expired;
  for (const auto& [fd, c] : conns_) {
    if (c->deadline <= after) expired.push_back(fd);
  }
  for (int fd : expired) fail(fd, kTimedOut);
  auto failures = std::move(deferred_failures_);
  deferred_failures_.clear();
  for (auto& [id, why] : failures) {
    count(NetCounter::tcp_out_failed);
    if (handler_ != nullptr) handler_->on_stream_response(id, make_error("{}", why));
  }
  flush_log();
}

void NetTransport::poll_once(TimePoint deadline) {
  std::vector<pollfd> fds;
  fds.reserve(2 + conns_.size() + watched_.size());
  collect(fds);
  const std::size_t own = fds.size();
  for (const auto& [fd, fn] : watched_) fds.push_back({fd, POLLIN, 0});

  const TimePoint until = std::min(deadline, next_deadline());
  const TimePoint now = clock_.now();
  int timeout_ms = 0;
  if (until > now) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
    timeout_ms = static_cast<int>(std::min<decltype(ms)>(ms, 1000));
  }
  const int n = ::poll(fds.data(), fds.size(), timeout_ms);
  // The transport's own descriptors first, then the watched ones, then
  // timeouts.
  handle_ready(std::span<const pollfd>(fds).first(n > 0 ? own : 0));
  if (n > 0) {
    for (std::size_t i = own; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      if (auto w = watched_.find(fds[i].fd); w != watched_.end()) {
        auto fn = w->second;  // the callback may unwatch itself
        fn();
      }
    }
  }
  expire();
}

void NetTransport::read_udp() {
  for (int i = 0; i < 256; ++i) {  // bounded: let timers and streams run too
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    const ssize_t n =
        ::recvfrom(udp_fd_, rx_buf_.data(), rx_buf_.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), &len);
    if (n < 0) return;  // EAGAIN or error: nothing more now
    std::string payload;
    // The buffer (64 KiB) exceeds any IPv4 UDP payload (65 507 B), so nothing
    // is truncated; the envelope enforces max_datagram_size.
    const std::size_t size = std::min<std::size_t>(static_cast<std::size_t>(n), rx_buf_.size());
    const EnvelopeDrop drop = envelope_.open(Channel::kDatagram, config_.bind, std::string_view(rx_buf_.data(), size),
                                             wall_clock_ms(), payload);
    if (drop != EnvelopeDrop::kNone) {
      count(NetCounter::udp_rx_dropped);
      note_drop(datagram_reason(drop), from_sockaddr(sa));
      continue;
    }
    count(NetCounter::udp_rx);
    if (handler_ != nullptr) handler_->on_packet(from_sockaddr(sa), as_bytes(payload));
  }
}

void NetTransport::accept_tcp() {
  for (;;) {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    const int fd = ::accept4(tcp_fd_, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    const Address peer = from_sockaddr(sa);
    if (!admit(peer)) {
      ::close(fd);
      continue;
    }
    count(NetCounter::tcp_in);
    auto c = std::make_unique<Conn>();
    c->serial = ++next_serial_;
    c->fd = fd;
    c->peer = peer;
    c->deadline = clock_.now() + config_.stream_timeout;
    c->reader.emplace(envelope_, config_.bind, config_.envelope.max_frame_size);
    ++inbound_;
    ++inbound_by_source_[peer.ip];
    conns_.emplace(fd, std::move(c));
  }
}

bool NetTransport::admit(const Address& source) {
  if (auto it = inbound_by_source_.find(source.ip);
      it != inbound_by_source_.end() && it->second >= config_.max_inbound_per_source) {
    count(NetCounter::tcp_in_source_limit);
    note_drop(reason(NetLogReason::kRefusedSource), source);
    return false;
  }
  if (inbound_ < config_.max_inbound_streams) return true;
  // Full: make room by dropping the oldest inbound connection whose peer has
  // not yet shown the cluster key. Members complete their header within one
  // round trip of connecting, so what is evicted is almost always a stranger.
  const Conn* oldest = nullptr;
  for (const auto& [fd, c] : conns_) {
    if (c->outbound || c->responding || !c->reader || c->reader->authenticated()) continue;
    if (oldest == nullptr || c->serial < oldest->serial) oldest = c.get();
  }
  if (oldest == nullptr) {
    count(NetCounter::tcp_in_refused);
    note_drop(reason(NetLogReason::kRefusedFull), source);
    return false;
  }
  count(NetCounter::tcp_in_evicted);
  note_drop(reason(NetLogReason::kEvicted), oldest->peer);
  close_conn(oldest->fd);
  return true;
}

std::size_t NetTransport::buffered_bytes() const {
  std::size_t n = 0;
  for (const auto& [fd, c] : conns_) n += c->out.size() + (c->reader ? c->reader->buffered() : 0);
  return n;
}

bool NetTransport::flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    c.out_off += static_cast<std::size_t>(n);
  }
  return true;
}

bool NetTransport::fill(Conn& c) {
  // Reads only what the stream reader asks for: the fixed-size header first,
  // then one chunk at a time, each verified before the next is read.
  StreamReader& r = *c.reader;
  for (;;) {
    const std::size_t want = std::min(r.want(), rx_buf_.size());
    if (want == 0) break;
    const ssize_t n = ::recv(c.fd, rx_buf_.data(), want, 0);
    if (n == 0) return false;  // EOF before a whole message
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    r.feed(std::string_view(rx_buf_.data(), static_cast<std::size_t>(n)), wall_clock_ms());
  }
  if (r.status() == StreamReader::Status::kFailed) {
    if (r.failure() == "oversize") count(NetCounter::tcp_frame_oversize);
    return false;
  }
  return true;
}

void NetTransport::service(int fd, short revents) {
  Conn& c = *conns_.at(fd);
  if (c.connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (revents & (POLLERR | POLLHUP)) != 0) {
      fail(fd, err != 0 ? errno_string(err) : "connection failed");
      return;
    }
    c.connecting = false;
  }
  if (c.out_off < c.out.size()) {
    if (!flush(c)) {
      fail(fd, "send failed");
      return;
    }
    if (c.out_off < c.out.size()) return;
    if (c.responding) {
      close_conn(fd);  // response sent
      return;
    }
  }
  if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
  if (!c.reader) {  // nothing more to read on this exchange
    fail(fd, "unexpected input");
    return;
  }
  if (!fill(c)) {
    fail(fd, c.reader->failure().empty() ? "closed before a whole message" : c.reader->failure());
    return;
  }
  if (c.reader->status() == StreamReader::Status::kDone) on_frame(c);
}

void NetTransport::on_frame(Conn& c) {
  const int fd = c.fd;
  std::string payload = c.reader->take_payload();
  c.reader.reset();
  if (c.outbound) {
    finish_outbound(c, std::move(payload));
    close_conn(fd);
    return;
  }
  std::string response = handler_ != nullptr ? handler_->on_stream_request(c.peer, as_bytes(payload)) : std::string{};
  auto it = conns_.find(fd);  // the handler may not close it, but stay safe
  if (it == conns_.end()) return;
  if (response.empty()) {
    close_conn(fd);
    return;
  }
  Conn& conn = *it->second;
  conn.out = seal_stream(envelope_, response_recipient(conn.peer), response, wall_clock_ms());
  conn.out_off = 0;
  conn.responding = true;
  if (!flush(conn)) {
    fail(fd, "send failed");
    return;
  }
  if (conn.out_off >= conn.out.size()) close_conn(fd);
}

void NetTransport::finish_outbound(Conn& c, Result<std::string> result) {
  if (result) {
    count(NetCounter::tcp_out_ok);
  } else {
    count(NetCounter::tcp_out_failed);
  }
  const std::uint64_t id = c.request_id;
  c.request_id = 0;
  if (handler_ != nullptr) handler_->on_stream_response(id, std::move(result));
}

void NetTransport::fail(int fd, std::string_view why) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if (c.outbound) {
    finish_outbound(c, make_error("stream to {}: {}", c.peer.to_string(), why));
  } else {
    count(NetCounter::tcp_in_dropped);
    note_inbound_failure(c, why == kTimedOut);
  }
  close_conn(fd);
}

void NetTransport::note_inbound_failure(const Conn& c, bool timed_out) {
  if (!c.reader) return;  // failed while answering: the peer went away
  const StreamReader& r = *c.reader;
  if (r.status() == StreamReader::Status::kFailed) {
    const std::string& f = r.failure();
    // The header has a fixed size, so "oversize" is the length it announced.
    if (f == "oversize") {
      note_drop(reason(NetLogReason::kStreamOversize), c.peer);
      return;
    }
    for (std::size_t d = 0; d < kDrops; ++d) {
      if (f == envelope_drop_name(static_cast<EnvelopeDrop>(d))) {
        note_drop(stream_reason(static_cast<EnvelopeDrop>(d)), c.peer);
        return;
      }
    }
    note_drop(reason(NetLogReason::kStreamBadBody), c.peer);  // bad_chunk, bad_header
    return;
  }
  // Cut short: a stranger that sent part of a header, or held the connection
  // open until the timeout. One that connects and closes at once (a port
  // probe) is not worth a line; a member cut off mid-body neither.
  if (!r.authenticated() && (timed_out || r.buffered() > 0)) {
    note_drop(reason(NetLogReason::kStreamUnauthenticated), c.peer);
  }
}

void NetTransport::note_drop(std::size_t reason, const Address& source) {
  auto r = log_limiter_.note(reason, source, clock_.now());
  if (!r) return;
  log_scratch_.clear();
  log_scratch_.push_back(*r);
  flush_log();
}

void NetTransport::flush_log() {
  if (log_scratch_.empty() && log_limiter_.next_flush() > clock_.now()) return;
  log_limiter_.flush(clock_.now(), log_scratch_);
  const auto interval_s = std::chrono::duration_cast<std::chrono::seconds>(log_limiter_.interval()).count();
  for (const LogLimiter::Report& r : log_scratch_) {
    const char* one = nullptr;
    const char* many = nullptr;
    std::string why;
    if (r.reason < 2 * kDrops) {
      const bool datagram = r.reason < kDrops;
      const auto drop = static_cast<EnvelopeDrop>(r.reason % kDrops);
      one = datagram ? "dropped a datagram" : "dropped a stream message";
      many = datagram ? "datagrams dropped" : "stream messages dropped";
      const char* hint = drop_hint(drop);
      why = fmt::format("{} ({}){}{}", envelope_drop_help(drop), envelope_drop_name(drop), *hint != '\0' ? ": " : "",
                        hint);
    } else {
      const ReasonText& t = kNetReasonText[r.reason - 2 * kDrops];
      one = t.one;
      many = t.many;
      why = t.why;
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(r.span).count();
    if (r.first) {
      spdlog::warn("gossip: {} from {}: {}; more are summed up every {} s", one, r.last_source, why, interval_s);
    } else {
      spdlog::warn("gossip: {} {} in the last {} s (last from {}): {}", r.count, many, seconds, r.last_source, why);
    }
  }
  log_scratch_.clear();
}

void NetTransport::close_conn(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  if (!it->second->outbound) {
    --inbound_;
    if (auto s = inbound_by_source_.find(it->second->peer.ip); s != inbound_by_source_.end() && --s->second == 0) {
      inbound_by_source_.erase(s);
    }
  }
  ::close(fd);
  conns_.erase(it);
}

}  // namespace ferry::gossip
