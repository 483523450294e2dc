#include "control/ipam/wire.h"

#include <algorithm>
#include <string_view>

#include "control/ipam/ipam.pb.h"

namespace ferry::ipam {

void to_proto(const PoolSpec& s, v1::PoolSpec& out) {
  out.set_name(s.name);
  out.set_subnet(s.subnet);
  out.set_prefix_len(s.prefix_len);
  out.set_block_size(s.block_size);
  out.set_genesis(s.genesis);
  if (s.is_v6()) {
    out.set_ipv6_network(s.net6.data(), s.net6.size());
    out.set_ipv6_prefix_len(s.prefix6);
  }
}

Result<PoolSpec> from_proto(const v1::PoolSpec& in, const Config& config) {
  PoolSpec spec{in.name(), in.subnet(), in.prefix_len(), in.block_size(), in.genesis(), {}, in.ipv6_prefix_len()};
  if (spec.is_v6() != !in.ipv6_network().empty()) return make_error("pool definition: IPv6 network and prefix differ");
  if (spec.is_v6()) {
    if (in.ipv6_network().size() != spec.net6.size()) {
      return make_error("pool definition: IPv6 network is not 16 bytes");
    }
    std::copy(in.ipv6_network().begin(), in.ipv6_network().end(), spec.net6.begin());
  }
  if (auto v = spec.validate(config.max_wire_blocks, config.max_name_size); !v) return v.error();
  return spec;
}

Result<std::vector<Run>> decode_runs(const google::protobuf::RepeatedPtrField<v1::Run>& runs,
                                     std::uint32_t num_blocks) {
  std::vector<const v1::Run*> ptrs;
  ptrs.reserve(static_cast<std::size_t>(runs.size()));
  for (const auto& r : runs) ptrs.push_back(&r);
  return decode_runs(ptrs, num_blocks);
}

void add_pool_runs(const PoolSpec& spec, const std::vector<Run>& runs, v1::Records& out) {
  auto* pr = out.add_pools();
  to_proto(spec, *pr->mutable_spec());
  for (const Run& r : runs) encode_run(r, *pr->add_runs());
}

std::vector<v1::IpamMessage> updates(const PoolSpec& spec, const std::vector<Run>& runs) {
  std::vector<v1::IpamMessage> out;
  std::size_t i = 0;
  while (i < runs.size()) {
    v1::IpamMessage& msg = out.emplace_back();
    auto* pr = msg.mutable_update()->add_pools();
    to_proto(spec, *pr->mutable_spec());
    std::size_t bytes = 0;
    for (; i < runs.size() && bytes < kBroadcastChunk; ++i) {
      encode_run(runs[i], *pr->add_runs());
      bytes += 16 + runs[i].record.owner.size();
    }
  }
  return out;
}

std::string Framing::frame(const v1::IpamMessage& msg) const {
  std::string out = prefix_;
  msg.AppendToString(&out);
  return out;
}

bool Framing::unframe(gossip::Bytes data, v1::IpamMessage& msg) const {
  const std::string_view view(reinterpret_cast<const char*>(data.data()), data.size());
  if (!view.starts_with(prefix_)) return false;
  const std::string_view body = view.substr(prefix_.size());
  return msg.ParseFromArray(body.data(), static_cast<int>(body.size()));
}

}  // namespace ferry::ipam
