#include "control/agent/event_loop.h"

#include <algorithm>
#include <cerrno>

namespace ferry::agent {

void EventLoop::watch(int fd, std::function<void()> on_readable) { watched_[fd] = std::move(on_readable); }

void EventLoop::unwatch(int fd) { watched_.erase(fd); }

void EventLoop::watch_writable(int fd, std::function<void()> on_writable) { writable_[fd] = std::move(on_writable); }

void EventLoop::unwatch_writable(int fd) { writable_.erase(fd); }

void EventLoop::add_source(Source source) { sources_.push_back(std::move(source)); }

EventLoop::TimerId EventLoop::at(gossip::TimePoint when, std::function<void()> fn) {
  const TimerId id = next_id_++;
  timers_[id] = Timer{when, gossip::Duration{0}, std::move(fn)};
  return id;
}

EventLoop::TimerId EventLoop::every(gossip::Duration interval, std::function<void()> fn, gossip::Duration first) {
  const TimerId id = next_id_++;
  timers_[id] = Timer{clock_.now() + first, std::max(interval, gossip::Duration{1}), std::move(fn)};
  return id;
}

void EventLoop::cancel(TimerId id) { timers_.erase(id); }

gossip::TimePoint EventLoop::next_deadline() const {
  gossip::TimePoint next = gossip::kNever;
  for (const auto& [id, t] : timers_) next = std::min(next, t.when);
  for (const auto& s : sources_) next = std::min(next, s.next_deadline());
  return next;
}

std::size_t EventLoop::run_timers() {
  std::size_t ran = 0;
  const gossip::TimePoint now = clock_.now();
  std::vector<TimerId> due;
  for (const auto& [id, t] : timers_) {
    if (t.when <= now) due.push_back(id);
  }
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier callback
    std::function<void()> fn = it->second.fn;
    if (it->second.interval.count() == 0) {
      timers_.erase(it);
    } else {
      // The next run one interval on; a loop that fell behind skips the
      // missed runs instead of running them back to back.
      it->second.when += it->second.interval;
      if (it->second.when <= now) it->second.when = now + it->second.interval;
    }
    fn();
    ++ran;
  }
  return ran;
}

std::size_t EventLoop::run_once(gossip::TimePoint limit, gossip::Duration max_wait) {
  fds_.clear();
  std::vector<std::size_t> source_end;  // one past each source's entries
  for (auto& s : sources_) {
    s.collect(fds_);
    source_end.push_back(fds_.size());
  }
  const std::size_t first_watched = fds_.size();
  for (const auto& [fd, fn] : watched_) fds_.push_back({fd, POLLIN, 0});
  const std::size_t first_writable = fds_.size();
  for (const auto& [fd, fn] : writable_) fds_.push_back({fd, POLLOUT, 0});

  const gossip::TimePoint now = clock_.now();
  const gossip::TimePoint until = std::min({limit, next_deadline(), now + max_wait});
  int timeout_ms = 0;
  if (until > now) {
    timeout_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(until - now).count());
  }
  std::size_t ran = 0;
  const int n = ::poll(fds_.data(), fds_.size(), timeout_ms);
  if (n < 0 && errno != EINTR) return ran;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    // Every turn, ready or not: a source also expires its own timeouts.
    sources_[i].dispatch(std::span<const pollfd>(fds_.data() + begin, source_end[i] - begin));
    begin = source_end[i];
  }
  if (n > 0) {
    for (std::size_t i = first_watched; i < fds_.size(); ++i) {
      if (fds_[i].revents == 0) continue;
      auto& callbacks = i < first_writable ? watched_ : writable_;
      auto w = callbacks.find(fds_[i].fd);
      if (w == callbacks.end()) continue;  // unwatched by an earlier callback
      auto fn = w->second;                 // the callback may unwatch itself
      fn();
      ++ran;
    }
  }
  ran += run_timers();
  return ran;
}

}  // namespace ferry::agent
