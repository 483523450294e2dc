// Keeps ferry-dataplane equal to the desired state. It remembers what it
// believes the data plane holds (`applied`), sends only the difference, and
// re-reads the data plane's tables (its dump) whenever the data plane is new
// to it: at agent start (so leftovers of a previous agent are removed) and
// whenever the health call reports another boot id (the data plane restarted
// empty, so everything is sent again). A failed operation is retried on the
// next pass.
//
// Two guards keep it honest about the data plane:
//  - a hold on removals (set_hold_removals): while the agent's gossip view
//    is not yet synced after a start, it adds and replaces entries but
//    removes none, so a restarting agent leaves working entries alone;
//  - a drift audit (audit()): re-reads the dump, counts and logs what
//    differs from what it believes was applied (entries added or removed
//    behind its back), and repairs it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"
#include "control/agent/dp_state.h"
#include "dataplane/api/client.h"

namespace ferry::agent {

// The data-plane API's transport as the reconciler uses it (a fake in
// tests): wire messages in and out; the reconciler encodes typed commands
// (dataplane/api/request.h) and reads typed replies (reply.h).
class DataplaneLink {
 public:
  virtual ~DataplaneLink() = default;
  virtual Result<dp_api::v1::Reply> call(dp_api::v1::Request request) = 0;
  // From another thread, to stop: the call in progress and every later one
  // fail at once instead of waiting out the timeout. (A link whose calls
  // never wait has nothing to cancel.)
  virtual void cancel() {}
};

class ZmqDataplaneLink final : public DataplaneLink {
 public:
  // `client`: the name every request carries (the data plane's owner lease).
  ZmqDataplaneLink(std::string endpoint, std::chrono::milliseconds timeout, std::string client = {});
  ~ZmqDataplaneLink() override;
  ZmqDataplaneLink(const ZmqDataplaneLink&) = delete;
  ZmqDataplaneLink& operator=(const ZmqDataplaneLink&) = delete;
  Result<dp_api::v1::Reply> call(dp_api::v1::Request request) override { return client_.call(std::move(request)); }
  void cancel() override;

 private:
  dp_api::Client client_;
  int cancel_fd_ = -1;  // an eventfd: readable once cancel() ran
};

struct ReconcilerStatus {
  bool dataplane_up = false;
  std::string boot_id;
  std::uint32_t endpoint_mtu = 0;  // from the last health reply (0: never answered)
  std::string endpoint_driver;     // the data plane's endpoint port type, likewise ("": never answered)
  std::uint64_t resyncs = 0;       // dumps read (agent start, data-plane restarts)
  std::uint64_t ops_applied = 0;
  std::uint64_t ops_failed = 0;
  std::uint64_t passes = 0;
  std::size_t pending = 0;  // operations still to do after the last pass
  std::string last_error;
  bool holding_removals = false;  // removals held until the gossip view has synced
  std::size_t held = 0;           // removals held back in the last pass
  // Drift audits.
  std::uint64_t audits = 0;                         // completed
  std::uint64_t audits_failed = 0;                  // dump not read
  std::uint64_t drift_total = 0;                    // differences found, all audits
  std::map<std::string, std::uint64_t> drift;       // the same per kind (dp_state.h drift())
  std::map<std::string, std::uint64_t> last_drift;  // the last audit's, per kind
  std::int64_t last_audit_unix_ms = 0;              // when the last audit ran (0: never)
  std::string last_audit;                           // "clean", "repaired N: ...", "failed: ..."
};

// What the agent asks of a reconciler: Reconciler itself (blocking on the
// data plane, for tests and the worker thread) or DataplaneWorker
// (dp_worker.h: the same work on a thread of its own, so the agent's loop
// never blocks).
class ReconcilerControl {
 public:
  virtual ~ReconcilerControl() = default;
  virtual void set_desired(DpState desired) = 0;
  virtual void run_known() = 0;
  virtual void on_health(const Result<dp_api::v1::Reply>& reply) = 0;
  virtual void set_hold_removals(bool hold) = 0;
  virtual void audit() = 0;
  [[nodiscard]] virtual const ReconcilerStatus& status() const = 0;
  [[nodiscard]] virtual const DpState& applied() const = 0;
  [[nodiscard]] virtual const DpState& desired() const = 0;
};

class Reconciler final : public ReconcilerControl {
 public:
  explicit Reconciler(DataplaneLink& link) : link_(link) {}

  void set_desired(DpState desired) override;
  [[nodiscard]] const DpState& desired() const override { return desired_; }
  [[nodiscard]] const DpState& applied() const override { return applied_; }

  // One pass: with `check_health` (periodic) or when the data plane is not
  // known, asks its health first and re-reads it if it is new; then sends
  // the difference if anything changed or failed before.
  void run(bool check_health);

  // The agent's non-blocking form (dp_probe.h): the health reply comes
  // from a probe the loop polls, and passes never call health themselves.
  // on_health() takes a reply like run(true) would (re-reading a new data
  // plane, which answered just now, so the dump is quick); run_known() sends
  // the difference only while the data plane is known to be up.
  void on_health(const Result<dp_api::v1::Reply>& reply) override;
  void run_known() override;

  // While held, passes send no removal that is not part of a replacement.
  // Releasing the hold makes the next pass send the whole difference. A
  // data plane found empty releases it (there is nothing to keep).
  void set_hold_removals(bool hold) override;

  // Reads the data plane's dump, counts what differs from `applied` (drift),
  // logs it at warning, takes the dump as the truth and sends the
  // difference to the desired state. Does nothing while the data plane is
  // not known to be up or removals are held.
  void audit() override;

  [[nodiscard]] const ReconcilerStatus& status() const override { return status_; }

 private:
  bool check();
  bool check_reply(const Result<dp_api::v1::Reply>& wire);
  // Sends `command` and reads the reply; an error when nothing (or nothing
  // readable) came back.
  Result<dp_api::Reply> call(const dp_api::Command& command);
  void send_diff();
  DataplaneLink& link_;
  DpState desired_;
  DpState applied_;
  bool dirty_ = true;
  ReconcilerStatus status_;
};

}  // namespace ferry::agent
