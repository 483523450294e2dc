// NetTransport: the real Transport. UDP for datagrams and TCP for stream
// exchanges, both on the same IPv4 address and port, every datagram and every
// stream frame sealed by the Envelope (cluster key ring). A small poll(2)
// loop drives it; EventLoop below runs a Node on top.
//
// TCP exchange: connect, one request message, one response message, close.
// Messages are sealed by seal_stream (stream_seal.h): the length is
// authenticated before any body byte is read, and the body is verified one
// 64 KiB chunk at a time, so a peer without the key makes the transport hold
// one ~100-byte header per connection at most. Inbound connections are
// limited in total and per source IP; at the total limit the oldest one that
// has not yet authenticated is dropped to make room. Every exchange, inbound
// or outbound, is bounded by stream_timeout.
//
// Security drops (datagrams and streams the envelope refuses, oversized or
// damaged stream bodies, unauthenticated connections cut short, evicted or
// refused) are counted always and logged as warnings through a LogLimiter:
// one line per reason per kLogInterval with the count and the last source,
// so a flood makes a handful of lines (docs/gossip.md, "Logging").
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/gossip/address.h"
#include "control/gossip/clock.h"
#include "control/gossip/envelope.h"
#include "control/gossip/keyring.h"
#include "control/gossip/log_limiter.h"
#include "control/gossip/stream_seal.h"
#include "control/gossip/transport.h"

namespace ferry::gossip {

// Wall time for envelope timestamps, ms since the Unix epoch.
std::int64_t wall_clock_ms();

#define FERRY_NET_COUNTERS(X)                                                         \
  X(udp_tx, "datagrams sent")                                                         \
  X(udp_tx_dropped, "datagrams not sent (socket buffer full, oversize, error)")       \
  X(udp_rx, "datagrams received and opened")                                          \
  X(udp_rx_dropped, "datagrams dropped by the envelope (see envelope drops)")         \
  X(tcp_out, "outbound stream exchanges started")                                     \
  X(tcp_out_ok, "outbound stream exchanges answered")                                 \
  X(tcp_out_failed, "outbound stream exchanges failed (connect, timeout, bad frame)") \
  X(tcp_in, "inbound stream connections accepted")                                    \
  X(tcp_in_refused, "inbound connections refused (too many open, none evictable)")    \
  X(tcp_in_source_limit, "inbound connections refused (too many from one source IP)") \
  X(tcp_in_evicted, "unauthenticated inbound connections closed to make room")        \
  X(tcp_in_dropped, "inbound streams dropped (bad frame, timeout, envelope)")         \
  X(tcp_frame_oversize, "stream messages whose authenticated length exceeds the limit")

enum class NetCounter : std::size_t {
#define FERRY_X(name, help) name,
  FERRY_NET_COUNTERS(FERRY_X)
#undef FERRY_X
      kCount
};
const char* net_counter_name(NetCounter c);

struct NetTransportConfig {
  Address bind;                                    // IPv4 address and port for UDP and TCP
  std::chrono::milliseconds stream_timeout{5000};  // whole exchange, either side
  std::size_t max_inbound_streams = 128;           // concurrent inbound connections
  std::size_t max_inbound_per_source = 8;          // of which from one source IP
  EnvelopeConfig envelope;                         // size limits, replay window
  [[nodiscard]] Result<void> validate() const;
};

class NetTransport final : public Transport {
 public:
  // Binds the sockets. `keyring` must outlive the transport; `clock` gives
  // the monotonic time for timeouts; `instance` seeds the envelope's sender id
  // (0: random).
  static Result<std::unique_ptr<NetTransport>> open(NetTransportConfig config, const Keyring& keyring, Clock& clock,
                                                    std::uint64_t instance = 0);
  ~NetTransport() override;
  NetTransport(const NetTransport&) = delete;
  NetTransport& operator=(const NetTransport&) = delete;

  void set_handler(PacketHandler* handler) { handler_ = handler; }

  // Transport.
  [[nodiscard]] Address local_address() const override { return config_.bind; }
  void send_packet(const Address& to, std::string data) override;
  void request(const Address& to, uint64_t request_id, std::string data) override;

  // Extra file descriptors served by poll_once (e.g. a control socket).
  void watch(int fd, std::function<void()> on_readable);
  void unwatch(int fd);

  // Waits for I/O until `deadline` at most, then handles whatever is ready
  // (delivering to the handler), expires timed-out exchanges and delivers
  // queued failures.
  void poll_once(TimePoint deadline);
  // The same turn for a caller's own event loop: collect() appends the
  // transport's descriptors to `fds`; after poll(2), dispatch() takes those
  // same entries back, handles what is ready, expires timed-out exchanges
  // and delivers queued failures (call it every turn, ready or not).
  void collect(std::vector<pollfd>& fds);
  void dispatch(std::span<const pollfd> fds);
  // The earliest stream timeout or queued failure.
  [[nodiscard]] TimePoint next_deadline() const;

  [[nodiscard]] const EnvelopeStats& envelope_stats() const { return envelope_.stats(); }
  [[nodiscard]] std::uint64_t counter(NetCounter c) const { return counters_[static_cast<std::size_t>(c)]; }
  [[nodiscard]] std::size_t open_streams() const { return conns_.size(); }
  // Bytes held for open streams (unverified input, verified bodies, unsent output).
  [[nodiscard]] std::size_t buffered_bytes() const;

  // Security drops are logged at most once per reason per this interval.
  static constexpr Duration kLogInterval = std::chrono::seconds(10);

 private:
  struct Conn;
  NetTransport(NetTransportConfig config, const Keyring& keyring, Clock& clock, std::uint64_t instance);
  Result<void> bind_sockets();
  void read_udp();
  void accept_tcp();
  bool admit(const Address& source);  // room for one more inbound connection from `source`?
  void service(int fd, short revents);
  void handle_ready(std::span<const pollfd> fds);
  void expire();
  void fail(int fd, std::string_view why);
  void finish_outbound(Conn& c, Result<std::string> result);
  void close_conn(int fd);
  bool flush(Conn& c);
  bool fill(Conn& c);  // false on error/EOF before a full frame
  void on_frame(Conn& c);
  void count(NetCounter c) { ++counters_[static_cast<std::size_t>(c)]; }
  // Rate-limited warnings (reasons in net_transport.cc).
  void note_drop(std::size_t reason, const Address& source);
  void note_inbound_failure(const Conn& c, bool timed_out);
  void flush_log();

  NetTransportConfig config_;
  Clock& clock_;
  Envelope envelope_;
  PacketHandler* handler_ = nullptr;
  int udp_fd_ = -1;
  int tcp_fd_ = -1;
  std::map<int, std::unique_ptr<Conn>> conns_;
  std::map<int, std::function<void()>> watched_;
  std::vector<std::uint64_t> polled_serials_;  // parallel to collect()'s entries (0: not a stream)
  std::vector<std::pair<std::uint64_t, std::string>> deferred_failures_;  // request id, reason
  std::size_t inbound_ = 0;
  std::map<std::uint32_t, std::size_t> inbound_by_source_;  // source IP -> open inbound connections
  std::uint64_t next_serial_ = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(NetCounter::kCount)> counters_{};
  std::string rx_buf_;
  LogLimiter log_limiter_;
  std::vector<LogLimiter::Report> log_scratch_;
};

}  // namespace ferry::gossip
