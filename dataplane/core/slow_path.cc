// The slow path: uplink ARP for our VTEP IP goes to the control thread on an
// MP/SC ring (slow_path_rx), and frames the control thread builds come back
// through another (inject), sent on the uplink by one worker
// (drain_injected).
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/core/burst.h"

namespace ferry::dataplane {

void Pipeline::Burst::to_slow_path(rte_mbuf** frames, std::uint32_t n) {
  const unsigned queued = rte_ring_mp_enqueue_burst(p.slow_rx_, reinterpret_cast<void**>(frames), n, nullptr);
  count(Counter::slow_path, queued);
  if (queued < n) {
    count(Counter::slow_path_full, n - queued);
    rte_pktmbuf_free_bulk(frames + queued, n - queued);
  }
}

bool Pipeline::inject(rte_mbuf* frame, PortId port) {
  frame->port = port;
  return rte_ring_sp_enqueue(slow_tx_, frame) == 0;
}

void Pipeline::drain_injected(LcoreContext& ctx) {
  rte_mbuf* frames[kBurstSize];
  const unsigned n = rte_ring_sc_dequeue_burst(slow_tx_, reinterpret_cast<void**>(frames), kBurstSize, nullptr);
  if (n == 0) return;
  Burst b(*this, ctx);
  b.count(Counter::injected, n);
  for (unsigned i = 0; i < n; ++i) {
    const PortId port = frames[i]->port;
    if (port == config_.uplink_port || b.t.port(port) != nullptr) {
      b.send(port, frames[i]);
    } else {
      b.drop(frames[i], Counter::inject_no_port);
    }
  }
  b.flush_all();
}

}  // namespace ferry::dataplane
