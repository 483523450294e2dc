// Software offloads on the way out: a frame that asks for more than its
// port takes (port_caps.h) is finished here before it is queued: a
// super-frame cut into segments, VXLAN-encapsulated or not, each with its
// checksums complete (Segmenter, byte for byte the kernel's GSO), or a
// frame's partial checksums completed in place. The segments leave in one
// call of the port's TX function, so a kernel-UDP uplink sends them as one
// UDP_SEGMENT batch.
#include <rte_mbuf.h>

#include "dataplane/core/burst.h"
#include "dataplane/core/segment.h"

namespace ferry::dataplane {

void Pipeline::Burst::send_finished(PortId port, rte_mbuf* m) {
  static_assert(LcoreContext::kTxBufferSize >= kBurstSize + kMaxSegments);
  LcoreContext::TxBuffer& b = ctx.tx_[port];
  if (LcoreContext::kTxBufferSize - b.n < kMaxSegments) flush_port(port);
  const SegmentResult r = ctx.segmenter_->segment(m, b.pkts + b.n, kMaxSegments);
  if (r.drop) [[unlikely]] {
    drop(m, *r.drop);
    return;
  }
  b.n = static_cast<std::uint16_t>(b.n + r.count);
  ctx.touched_mask_ |= 1u << port;
  if (r.count == 1 && b.n >= kBurstSize) flush_port(port);  // a frame with its checksums completed
}

}  // namespace ferry::dataplane
