// The IPAM's messages (ipam.proto) as the allocator builds and reads them:
// pool definitions checked whole, runs checked against their pool, updates
// cut into datagram-sized items, and the optional prefix that lets several
// layers share one gossip Node (DelegateMux).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "control/gossip/transport.h"
#include "control/ipam/block_map.h"
#include "control/ipam/config.h"
#include "control/ipam/pool.h"

namespace google::protobuf {
template <typename Element>
class RepeatedPtrField;
}  // namespace google::protobuf

namespace ferry::ipam {

namespace v1 {
class IpamMessage;
class PoolSpec;
class Records;
class Run;
}  // namespace v1

// Bytes of runs per broadcast item (an item fits a datagram).
inline constexpr std::size_t kBroadcastChunk = 900;

void to_proto(const PoolSpec& spec, v1::PoolSpec& out);
// A pool definition from the wire or a snapshot, checked whole: IPv4 with no
// IPv6 fields, or IPv6 with a 16-byte network and a window that matches its
// prefix, within config's limits.
Result<PoolSpec> from_proto(const v1::PoolSpec& in, const Config& config);

// Runs off the wire for a pool of `num_blocks` blocks (decode_runs).
Result<std::vector<Run>> decode_runs(const google::protobuf::RepeatedPtrField<v1::Run>& runs, std::uint32_t num_blocks);
// Adds `spec` with `runs` to a Records message.
void add_pool_runs(const PoolSpec& spec, const std::vector<Run>& runs, v1::Records& out);
// Update messages carrying `runs` of one pool, in order, each with about
// kBroadcastChunk bytes of runs at most (one run more than fits, at least
// one run). No runs: no message.
std::vector<v1::IpamMessage> updates(const PoolSpec& spec, const std::vector<Run>& runs);

// Every message this host sends as a broadcast, push-pull state or request
// starts with `prefix`; every one it receives must, and loses it.
class Framing {
 public:
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }
  [[nodiscard]] const std::string& prefix() const { return prefix_; }
  [[nodiscard]] std::string frame(const v1::IpamMessage& msg) const;
  // False when the prefix is missing or the rest does not decode.
  bool unframe(gossip::Bytes data, v1::IpamMessage& msg) const;

 private:
  std::string prefix_;
};

}  // namespace ferry::ipam
