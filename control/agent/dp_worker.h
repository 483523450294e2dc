// The agent's data-plane calls on a thread of their own, so the agent's
// loop (and with it gossip's timing, the admin and Docker sockets) never
// waits on ferry-dataplane. The loop posts work for the Reconciler (a new
// desired state and a pass, a health reply, the removal hold, a drift
// audit) and returns at once; the worker runs it in order against the data
// plane (blocking ZeroMQ calls, each bounded by --dataplane-timeout-ms) and
// hands what the loop shows (the reconciler's status and the entries it has
// applied) back through an eventfd the loop watches (fd(), collect()).
// What the loop reads is its own copy: it changes only in collect(), on
// the loop thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common/result.h"
#include "control/agent/reconciler.h"

namespace ferry::agent {

class DataplaneWorker final : public ReconcilerControl {
 public:
  static Result<std::unique_ptr<DataplaneWorker>> create(std::unique_ptr<DataplaneLink> link);
  // Cancels the call in hand (DataplaneLink::cancel: a stalled data plane
  // does not hold the agent's exit up to the call's timeout), drops what is
  // still queued and joins the thread.
  ~DataplaneWorker() override;
  DataplaneWorker(const DataplaneWorker&) = delete;
  DataplaneWorker& operator=(const DataplaneWorker&) = delete;

  // ReconcilerControl, from the loop thread: queued for the worker.
  void set_desired(DpState desired) override;
  void run_known() override;
  void on_health(const Result<dp_api::v1::Reply>& reply) override;
  void set_hold_removals(bool hold) override;
  void audit() override;
  // The loop's copies, as of the last collect() (desired(): as last set).
  [[nodiscard]] const ReconcilerStatus& status() const override { return status_; }
  [[nodiscard]] const DpState& applied() const override { return applied_; }
  [[nodiscard]] const DpState& desired() const override { return desired_; }

  // Readable when the worker has finished work since the last collect().
  [[nodiscard]] int fd() const { return fd_; }
  // Loop thread: takes the worker's latest status and applied entries.
  // True when there was something new.
  bool collect();
  // Work posted and not yet finished (for tests and shutdown logs).
  [[nodiscard]] std::size_t queued() const;

 private:
  using Job = std::function<void(Reconciler&)>;
  explicit DataplaneWorker(std::unique_ptr<DataplaneLink> link);
  void post(Job job);
  void run();

  std::unique_ptr<DataplaneLink> link_;
  Reconciler reconciler_;  // the worker thread's only
  int fd_ = -1;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::size_t running_ = 0;
  bool stop_ = false;
  std::atomic<bool> stopping_{false};                             // stop_, read between jobs without the lock
  std::optional<std::pair<ReconcilerStatus, DpState>> finished_;  // status and applied after the last batch

  // The loop's.
  ReconcilerStatus status_;
  DpState applied_;
  DpState desired_;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace ferry::agent
