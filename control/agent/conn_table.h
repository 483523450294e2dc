// ConnTable: the connections of a one-request-per-connection server on the
// agent's poll loop (the admin socket, the metrics endpoint): non-blocking
// accept, a request buffer per connection with a size cap, idle expiry, and
// a bounded write of the reply before closing. Single-threaded; it owns the
// listening socket and every connection fd.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

struct msghdr;

namespace ferry::agent {

class ConnTable {
 public:
  enum class ReadStatus {
    kOpen,      // the request may be incomplete: wait for more
    kClosed,    // the peer closed or failed: fd is closed and forgotten (or was never ours)
    kTooLarge,  // more than the cap arrived: fd is still open for reply_and_close()
  };

  ConnTable(std::size_t max_request_size, std::chrono::steady_clock::duration idle_timeout,
            std::chrono::milliseconds reply_timeout = kReplyTimeout)
      : max_request_size_(max_request_size), idle_timeout_(idle_timeout), reply_timeout_(reply_timeout) {}
  ~ConnTable();  // closes every connection and the listener
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;

  void set_listener(int fd) { listen_fd_ = fd; }  // takes ownership of a non-blocking listening socket
  // Accepts pending connections; returns their fds (the caller watches them).
  std::vector<int> accept_all();
  // Appends what `fd` has ready to its request buffer.
  ReadStatus read(int fd);
  // The bytes received so far on a connection read() left open.
  [[nodiscard]] const std::string& request(int fd) const { return conns_.at(fd).buffer; }
  // File descriptors that came with the request (SCM_RIGHTS, at most
  // kMaxPassedFds; more are closed on arrival), handed to the caller, who
  // closes them. The connection closes any not taken.
  std::vector<int> take_fds(int fd);
  static constexpr std::size_t kMaxPassedFds = 4;
  // Sends `reply` (for at most the reply timeout), then closes and forgets fd;
  // false when the reply was not delivered in full.
  bool reply_and_close(int fd, std::string_view reply);
  // Closes connections open longer than the idle timeout (not those marked
  // answering); returns their fds.
  std::vector<int> expire();
  // A connection whose request was handed over and whose answer may come
  // from a later loop turn: no more reads, no expiry.
  void set_answering(int fd);
  // Tells a connection from a later one that reused its fd.
  [[nodiscard]] std::uint64_t serial(int fd) const;
  [[nodiscard]] bool open(int fd, std::uint64_t serial) const;

  static constexpr std::chrono::milliseconds kReplyTimeout{1000};

 private:
  struct Conn {
    std::string buffer;
    std::chrono::steady_clock::time_point opened;
    std::uint64_t serial = 0;
    bool answering = false;
    std::vector<int> fds{};  // passed with the request, not yet taken
  };
  void close_conn(int fd);
  static void keep_fds(Conn& conn, msghdr& msg);

  std::size_t max_request_size_;
  std::chrono::steady_clock::duration idle_timeout_;
  std::chrono::milliseconds reply_timeout_;
  int listen_fd_ = -1;
  std::map<int, Conn> conns_;
  std::uint64_t next_serial_ = 1;
};

// Writes all of `data` to a non-blocking socket, waiting up to `timeout`.
bool write_all(int fd, std::string_view data, std::chrono::milliseconds timeout);

}  // namespace ferry::agent
