// libFuzzer target for the Docker request decoders: the first byte picks a
// method, the rest is the body. Every input goes through the Dispatcher
// (decode -> backend -> encode) with permissive backends, and through the
// address parsers with round-trip checks.
//   CXX=clang++ meson setup build-fuzz -Dfuzz=true
//   ninja -C build-fuzz tests/plugins/fuzz_docker_json
//   build-fuzz/tests/plugins/fuzz_docker_json -max_total_time=60 -max_len=4096
#include <spdlog/spdlog.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plugins/docker/codec.h"
#include "plugins/docker/dispatcher.h"

namespace {

using namespace ferry;
using namespace ferry::plugins::docker;

// Accepts everything, so decoded requests reach the encoders.
class AcceptingNetwork : public NetworkBackend {
 public:
  Result<void> create_network(const CreateNetworkRequest&) override { return ok(); }
  Result<void> delete_network(const NetworkRef&) override { return ok(); }
  Result<AllocateNetworkReply> allocate_network(const AllocateNetworkRequest& r) override {
    return AllocateNetworkReply{r.options};
  }
  Result<void> free_network(const NetworkRef&) override { return ok(); }
  Result<EndpointInterface> create_endpoint(const CreateEndpointRequest& r) override {
    EndpointInterface settled = r.interface;
    settled.mac_address = MacAddress{{2, 0, 0, 0, 0, 1}};
    return settled;
  }
  Result<void> delete_endpoint(const EndpointRef&) override { return ok(); }
  Result<EndpointOperInfoReply> endpoint_oper_info(const EndpointRef& r) override {
    return EndpointOperInfoReply{{{"id", r.endpoint_id}}};
  }
  Result<JoinReply> join(const JoinRequest& r) override {
    JoinReply reply;
    reply.src_name = r.sandbox_key;
    reply.dst_prefix = "eth";
    return reply;
  }
  Result<void> leave(const EndpointRef&) override { return ok(); }
  Result<void> discover_new(const DiscoveryRequest&) override { return ok(); }
  Result<void> discover_delete(const DiscoveryRequest&) override { return ok(); }
  Result<void> program_external_connectivity(const ProgramExternalConnectivityRequest&) override { return ok(); }
  Result<void> revoke_external_connectivity(const EndpointRef&) override { return ok(); }
};

// Accepts every pool and address, so decoded requests reach the encoders.
class AcceptingIpam : public IpamBackend {
 public:
  Result<AddressSpaces> default_address_spaces() override { return AddressSpaces{"FerryLocal", "FerryGlobal"}; }
  Result<RequestPoolReply> request_pool(const RequestPoolRequest& r) override {
    const IpPrefix pool = r.pool ? *r.pool : IpPrefix{IpAddress::v4(0x0a0a0000), 24};
    return RequestPoolReply{r.address_space + "/" + pool.to_string(), pool.network(), r.options};
  }
  Result<void> release_pool(const PoolRef&) override { return ok(); }
  Result<RequestAddressReply> request_address(const RequestAddressRequest& r) override {
    return RequestAddressReply{IpPrefix{r.address ? *r.address : IpAddress::v4(0x0a0a0002), 24}, {}};
  }
  Result<void> release_address(const ReleaseAddressRequest&) override { return ok(); }
};

constexpr std::array<std::string_view, 24> kTargets = {
    "/Plugin.Activate",
    "/NetworkDriver.GetCapabilities",
    "/NetworkDriver.CreateNetwork",
    "/NetworkDriver.DeleteNetwork",
    "/NetworkDriver.AllocateNetwork",
    "/NetworkDriver.FreeNetwork",
    "/NetworkDriver.CreateEndpoint",
    "/NetworkDriver.EndpointOperInfo",
    "/NetworkDriver.DeleteEndpoint",
    "/NetworkDriver.Join",
    "/NetworkDriver.Leave",
    "/NetworkDriver.DiscoverNew",
    "/NetworkDriver.DiscoverDelete",
    "/NetworkDriver.ProgramExternalConnectivity",
    "/NetworkDriver.RevokeExternalConnectivity",
    "/IpamDriver.GetCapabilities",
    "/IpamDriver.GetDefaultAddressSpaces",
    "/IpamDriver.RequestPool",
    "/IpamDriver.ReleasePool",
    "/IpamDriver.RequestAddress",
    "/IpamDriver.ReleaseAddress",
    "/IpamDriver.Bogus",
    "/Unknown",
    "",
};

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view target = kTargets[data[0] % kTargets.size()];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  static AcceptingNetwork network;
  static AcceptingIpam ipam;
  const Dispatcher dispatcher(&network, &ipam);
  const Reply reply = dispatcher.handle(target, body);
  check(reply.status == 200 || reply.status == 404 || reply.status == 500);
  check(!reply.body.empty() && reply.body.front() == '{' && reply.body.back() == '}');

  // The parsers: whatever they accept prints back to something they accept
  // as the same value.
  if (auto ip = parse_ip(body)) check(parse_ip(ip->to_string()).value() == *ip);
  if (auto prefix = parse_cidr(body)) {
    check(parse_cidr(prefix->to_string()).value() == *prefix);
    check(prefix->contains(prefix->address));
    check(prefix->network().contains(prefix->address));
  }
  if (auto mac = parse_mac(body)) check(parse_mac(mac->to_string()).value() == *mac);
  return 0;
}
