// A thread that opens connection after connection to a unix socket and
// writes 4 KiB of random bytes on each (then waits a moment for anything the
// server answers, and closes): what a confused or hostile local program does
// to a ZeroMQ server. The seed is printed, so a failure can be replayed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace ferry::dptest {

class GarbageSender {
 public:
  // Starts sending to `path` (a filesystem path): one connection every
  // `pause`, each waiting up to `read_wait` for a reply.
  GarbageSender(std::string path, std::chrono::milliseconds pause, std::chrono::milliseconds read_wait);
  ~GarbageSender();  // stops and joins
  GarbageSender(const GarbageSender&) = delete;
  GarbageSender& operator=(const GarbageSender&) = delete;

  void stop();
  [[nodiscard]] std::uint32_t seed() const { return seed_; }
  // Connections whose random bytes were written.
  [[nodiscard]] int sent() const { return sent_.load(); }

 private:
  void run();

  std::string path_;
  std::chrono::milliseconds pause_;
  std::chrono::milliseconds read_wait_;
  std::uint32_t seed_;
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0};
  std::thread thread_;
};

}  // namespace ferry::dptest
