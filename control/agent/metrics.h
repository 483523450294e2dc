// Prometheus text exposition (format 0.0.4): MetricsWriter builds the body,
// MetricsServer answers `GET /metrics` over HTTP/1.1 on a TCP address
// (loopback by default) from the agent's poll loop. One request per
// connection, then close; idle connections are dropped after 5 s. The body
// may come later than the request (the agent asks the data plane for its
// counters without blocking its loop): Render gets a Respond to call once.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "control/agent/conn_table.h"
#include "control/gossip/address.h"

namespace ferry::agent {

using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsWriter {
 public:
  // Starts a metric family; `type` is "counter" or "gauge".
  void family(const std::string& name, const char* type, const std::string& help);
  // One sample of the current family (label values are escaped).
  void sample(const std::string& name, const Labels& labels, double value);
  void sample(const std::string& name, double value) { sample(name, {}, value); }
  [[nodiscard]] const std::string& text() const { return out_; }

 private:
  std::string out_;
};

class MetricsServer {
 public:
  using Respond = std::function<void(const std::string& body)>;
  using Render = std::function<void(const Respond&)>;
  static constexpr std::size_t kMaxRequestSize = 8192;

  static constexpr std::chrono::seconds kIdleTimeout{5};

  // `idle` and `reply` as for AdminServer.
  MetricsServer(gossip::Address address, Render render, std::chrono::milliseconds idle = kIdleTimeout,
                std::chrono::milliseconds reply = ConnTable::kReplyTimeout)
      : address_(address), render_(std::move(render)), conns_(kMaxRequestSize, idle, reply) {}
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  Result<int> open();                                               // the listening fd
  [[nodiscard]] gossip::Address bound() const { return address_; }  // port filled in when 0 was asked
  std::vector<int> accept_all();
  bool on_readable(int fd);  // false: closed (unwatch it)
  std::vector<int> expire();
  // As AdminServer's: replies written as the socket takes them.
  void set_write_watcher(ConnTable::WriteWatcher watcher) { conns_.set_write_watcher(std::move(watcher)); }
  void on_writable(int fd) { conns_.on_writable(fd); }
  [[nodiscard]] std::uint64_t cut() const { return conns_.cut(); }

 private:
  void respond(int fd, int status, const char* reason, const std::string& body);

  gossip::Address address_;
  Render render_;
  ConnTable conns_;
};

}  // namespace ferry::agent
