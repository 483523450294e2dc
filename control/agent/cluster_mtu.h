// The overlay MTU the hosts of a network agree on. Each agent publishes its
// data plane's endpoint MTU (its underlay MTU less the 50 bytes VXLAN over
// IPv4 adds) in the global gossip table "mtu", keyed by its node name. A new
// endpoint gets the smallest MTU among the hosts of its network (this one
// included), so whatever a container sends fits every underlay it may
// cross; a host whose MTU differs from this one's is logged as a warning,
// once per change of what the cluster publishes.
//
// A frame that is too big anyway (a container whose MTU was set by hand, a
// host that joined later with a smaller underlay) is answered by the data
// plane with ICMP Fragmentation Needed / Packet Too Big (dataplane/core/pmtu.h).
//
// Loop thread only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/gossip/table_db.h"

namespace ferry::agent {

inline constexpr const char* kMtuTable = "mtu";

// The endpoint MTUs an overlay may use (an IPv6 link's minimum up to a
// 9 216-byte underlay's).
inline constexpr unsigned kMinEndpointMtu = 1280;
inline constexpr unsigned kMaxEndpointMtu = 9166;

// A published value ("1450"), or nullopt when it is not a number in
// [kMinEndpointMtu, kMaxEndpointMtu] (such an entry is ignored).
std::optional<unsigned> parse_published_mtu(std::string_view value);

class ClusterMtu {
 public:
  ClusterMtu(gossip::TableDb& tables, std::string self) : tables_(tables), self_(std::move(self)) {}

  // Publishes this host's endpoint MTU when it changed (0: the data plane
  // has not said yet; nothing is published) and warns when other hosts
  // publish another.
  Result<void> publish(unsigned local);

  // The MTU for a new endpoint of `network`: the smallest published by the
  // hosts in it and `local` (this host's).
  [[nodiscard]] unsigned for_network(const std::string& network, unsigned local) const;

  // Every host's published MTU (valid values only).
  [[nodiscard]] std::map<std::string, unsigned> hosts() const;

 private:
  void warn_on_mismatch(unsigned local);

  gossip::TableDb& tables_;
  std::string self_;
  unsigned published_ = 0;
  std::string warned_;  // the mismatch last logged
};

}  // namespace ferry::agent
