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
  rte_mbuf* out[kMaxSegments];
  const SegmentResult r = ctx.segmenter_->segment(m, out, kMaxSegments);
  if (r.drop) [[unlikely]] {
    drop(m, *r.drop);
    return;
  }
  if (r.count == 1) {  // checksums completed (or nothing was asked after all)
    enqueue(port, out[0]);
    return;
  }
  flush_port(port);  // what was queued before goes first
  transmit(port, out, r.count);
}

}  // namespace ferry::dataplane
