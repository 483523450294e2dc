#include "control/agent/dp_worker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace ferry::agent {

Result<std::unique_ptr<DataplaneWorker>> DataplaneWorker::create(std::unique_ptr<DataplaneLink> link) {
  std::unique_ptr<DataplaneWorker> w(new DataplaneWorker(std::move(link)));
  if (w->fd_ < 0) return make_sys_error(errno, "eventfd");
  w->thread_ = std::thread([raw = w.get()] { raw->run(); });
  return w;
}

DataplaneWorker::DataplaneWorker(std::unique_ptr<DataplaneLink> link)
    : link_(std::move(link)), reconciler_(*link_), fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

DataplaneWorker::~DataplaneWorker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    stopping_.store(true);
    queue_.clear();
  }
  wake_.notify_all();
  link_->cancel();  // a call waiting on a stalled data plane ends now, not at its timeout
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void DataplaneWorker::post(Job job) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void DataplaneWorker::set_desired(DpState desired) {
  desired_ = desired;
  post([d = std::move(desired)](Reconciler& r) mutable { r.set_desired(std::move(d)); });
}

void DataplaneWorker::run_known() {
  post([](Reconciler& r) { r.run_known(); });
}

void DataplaneWorker::on_health(const Result<dp_api::v1::Reply>& reply) {
  post([reply](Reconciler& r) { r.on_health(reply); });
}

void DataplaneWorker::set_hold_removals(bool hold) {
  status_.holding_removals = hold;  // the loop sees its own decision at once
  post([hold](Reconciler& r) { r.set_hold_removals(hold); });
}

void DataplaneWorker::audit() {
  post([](Reconciler& r) { r.audit(); });
}

std::size_t DataplaneWorker::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + running_;
}

bool DataplaneWorker::collect() {
  std::uint64_t n = 0;
  while (::read(fd_, &n, sizeof n) == static_cast<ssize_t>(sizeof n)) {
  }
  std::optional<std::pair<ReconcilerStatus, DpState>> done;
  {
    std::lock_guard lock(mutex_);
    done.swap(finished_);
  }
  if (!done) return false;
  status_ = std::move(done->first);
  applied_ = std::move(done->second);
  return true;
}

void DataplaneWorker::run() {
  for (;;) {
    std::deque<Job> jobs;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      jobs.swap(queue_);
      running_ = jobs.size();
    }
    for (auto& job : jobs) {
      if (stopping_.load()) return;  // shutting down: what is left is dropped
      job(reconciler_);
    }
    {
      std::lock_guard lock(mutex_);
      finished_.emplace(reconciler_.status(), reconciler_.applied());
      running_ = 0;
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(fd_, &one, sizeof one);  // never full: the loop reads it
  }
}

}  // namespace ferry::agent
