// ConnTable: the connections of a one-request-per-connection server on the
// agent's poll loop (the admin socket, the metrics endpoint): non-blocking
// accept, a request buffer per connection with a size cap, idle expiry, and
// a reply written without ever waiting: what the socket does not take at
// once stays in a buffer of the connection's own (at most max_reply_buffer
// bytes) and is written as the socket becomes writable (the write watcher
// tells the loop which fds to poll for that), and the connection closes once
// it is all out. A client whose reply does not fit the buffer, or does not
// read it within the reply timeout, is cut and counted (cut()).
// Single-threaded; it owns the listening socket and every connection fd.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
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

  enum class WriteStatus {
    kDone,     // all written: fd is closed and forgotten
    kPending,  // the rest waits in the buffer: the write watcher was told to watch fd
    kCut,      // not delivered (buffer bound, peer gone, error): fd is closed, cut() counts it
  };
  // Told `want` = true when a connection has a reply left to write (poll fd
  // for writability, call on_writable()), false when it no longer has (fd is
  // about to be closed: stop polling it).
  using WriteWatcher = std::function<void(int fd, bool want)>;

  ConnTable(std::size_t max_request_size, std::chrono::steady_clock::duration idle_timeout,
            std::chrono::milliseconds reply_timeout = kReplyTimeout, std::size_t max_reply_buffer = kMaxReplyBuffer)
      : max_request_size_(max_request_size),
        idle_timeout_(idle_timeout),
        reply_timeout_(reply_timeout),
        max_reply_buffer_(max_reply_buffer) {}
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
  void set_write_watcher(WriteWatcher watcher) { watcher_ = std::move(watcher); }
  // Writes what the socket takes of `reply` now, never waiting; closes and
  // forgets fd once all of it is out (now, or from on_writable()).
  WriteStatus reply_and_close(int fd, std::string_view reply);
  // fd is writable: writes more of its pending reply.
  WriteStatus on_writable(int fd);
  // Closes connections open longer than the idle timeout (not those marked
  // answering) and those whose reply was not read within the reply timeout
  // (cut); returns their fds.
  std::vector<int> expire();
  // A connection whose request was handed over and whose answer may come
  // from a later loop turn: no more reads, no expiry.
  void set_answering(int fd);
  // Tells a connection from a later one that reused its fd.
  [[nodiscard]] std::uint64_t serial(int fd) const;
  [[nodiscard]] bool open(int fd, std::uint64_t serial) const;

  // Clients cut: a reply over the buffer bound, not read within the reply
  // timeout, or a peer gone before it was out.
  [[nodiscard]] std::uint64_t cut() const { return cut_; }
  // Connections with a reply still being written.
  [[nodiscard]] std::size_t writing() const;

  static constexpr std::chrono::milliseconds kReplyTimeout{1000};
  static constexpr std::size_t kMaxReplyBuffer = 4 << 20;

 private:
  struct Conn {
    std::string buffer;
    std::chrono::steady_clock::time_point opened;
    std::uint64_t serial = 0;
    bool answering = false;
    std::vector<int> fds{};  // passed with the request, not yet taken
    std::string out;         // the rest of the reply, written as fd becomes writable
    bool writing = false;
    std::chrono::steady_clock::time_point write_deadline{};
  };
  void close_conn(int fd);
  static void keep_fds(Conn& conn, msghdr& msg);
  WriteStatus flush(int fd, Conn& conn);

  std::size_t max_request_size_;
  std::chrono::steady_clock::duration idle_timeout_;
  std::chrono::milliseconds reply_timeout_;
  std::size_t max_reply_buffer_;
  WriteWatcher watcher_;
  std::uint64_t cut_ = 0;
  int listen_fd_ = -1;
  std::map<int, Conn> conns_;
  std::uint64_t next_serial_ = 1;
};

// Writes all of `data` to a non-blocking socket, waiting up to `timeout`.
bool write_all(int fd, std::string_view data, std::chrono::milliseconds timeout);

}  // namespace ferry::agent
