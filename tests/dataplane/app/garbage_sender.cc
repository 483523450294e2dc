#include "tests/dataplane/app/garbage_sender.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <random>
#include <utility>

namespace ferry::dptest {

GarbageSender::GarbageSender(std::string path, std::chrono::milliseconds pause, std::chrono::milliseconds read_wait)
    : path_(std::move(path)),
      pause_(pause),
      read_wait_(read_wait),
      seed_(static_cast<std::uint32_t>(std::random_device{}())) {
  std::cout << "garbage seed " << seed_ << '\n';
  thread_ = std::thread([this] { run(); });
}

GarbageSender::~GarbageSender() { stop(); }

void GarbageSender::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void GarbageSender::run() {
  std::mt19937 rng(seed_);
  while (!stop_) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      std::string junk(4096, '\0');
      for (auto& c : junk) c = static_cast<char>(rng());
      if (::write(fd, junk.data(), junk.size()) > 0) ++sent_;
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(read_wait_).count();
      timeval wait{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
      char buffer[4096];
      (void)!::read(fd, buffer, sizeof buffer);
    }
    ::close(fd);
    std::this_thread::sleep_for(pause_);
  }
}

}  // namespace ferry::dptest
