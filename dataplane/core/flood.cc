// Flooding: broadcast, multicast and (when the network floods them) unknown
// unicast frames, replicated to the network's other local ports and, from an
// endpoint, encapsulated to every VTEP of its flood list (head-end
// replication). Copies are deep copies from the lcore's pool; see
// docs/dataplane-pipeline.md ("Flooding") for why not indirect mbufs.
#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/core/burst.h"
#include "dataplane/core/encap.h"

namespace ferry::dataplane {

// Replicates m to every local port of `net` but `except`, and (when
// `to_vteps`) encapsulated to every VTEP of its flood list. Consumes m.
void Pipeline::Burst::flood(rte_mbuf* m, const NetworkRecord* net, PortId except, bool to_vteps) {
  PortId ports[kMaxPorts];
  std::uint32_t n_ports = 0;
  for (PortId port : net->ports) {
    if (port != except) ports[n_ports++] = port;
  }
  const std::size_t n_vteps = to_vteps ? net->flood.size() : 0;
  const std::size_t targets = n_ports + n_vteps;
  if (targets == 0) {
    count_net(net->slot, NetCounter::dropped);
    drop(m, Counter::flood_no_target);
    return;
  }
  count(Counter::flooded);
  count(Counter::flood_copies, targets - 1);
  std::uint16_t sport = 0;
  if (n_vteps != 0) {
    sport = src_port(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m));
  }
  // The original goes to the last target, after every copy was made from it.
  std::size_t i = 0;
  for (; i < targets; ++i) {
    rte_mbuf* out = m;
    if (i + 1 < targets) {
      out = rte_pktmbuf_copy(m, ctx.copy_pool_, 0, UINT32_MAX);
      if (out == nullptr) {
        count(Counter::no_mbuf);
        continue;
      }
    }
    if (i < n_ports) {
      count(Counter::local_switched);
      count_net(net->slot, NetCounter::to_endpoints);
      send(ports[i], out);
    } else if (!fits_underlay(out)) {
      drop(out, Counter::mtu_exceeded);
    } else if (encap(out, t.vtep_at(net->flood[i - n_ports]), net->vni, sport)) {
      count(Counter::encap);
      count_net(net->slot, NetCounter::encap);
      send(p.config_.uplink_port, out);
    }
  }
}

}  // namespace ferry::dataplane
