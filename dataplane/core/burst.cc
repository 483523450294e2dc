// Pipeline::Burst's out-of-line helpers (the rest of it is inline, burst.h).
#include "dataplane/core/burst.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>

namespace ferry::dataplane {

// Frames are parsed, encapsulated and sent as one contiguous segment (the
// af_xdp PMD, for one, transmits only the first). A chain (a NIC that
// scattered a frame over several receive buffers) is joined here: in place
// when its first segment has the room, else copied into one mbuf of the
// pool. Returns the contiguous frame, or nullptr (dropped and counted).
rte_mbuf* Pipeline::Burst::contiguous(rte_mbuf* m) {
  if (rte_pktmbuf_linearize(m) == 0) {
    count(Counter::linearized);
    return m;
  }
  rte_mempool* pool = ctx.copy_pool_;
  if (rte_pktmbuf_pkt_len(m) > static_cast<std::uint32_t>(rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM)) {
    drop(m, Counter::chain_too_long);
    return nullptr;
  }
  rte_mbuf* copy = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
  if (copy == nullptr) {
    drop(m, Counter::no_mbuf);
    return nullptr;
  }
  rte_pktmbuf_free(m);
  count(Counter::linearized);
  return copy;
}

}  // namespace ferry::dataplane
