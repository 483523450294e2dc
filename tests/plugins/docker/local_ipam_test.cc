#include "plugins/docker/local_ipam.h"

#include <gtest/gtest.h>

#include "plugins/docker/dispatcher.h"

namespace ferry::plugins::docker {
namespace {

RequestPoolRequest pool_request(const char* cidr, const char* sub_pool = nullptr, const char* space = "FerryLocal") {
  RequestPoolRequest request;
  request.address_space = space;
  request.pool = parse_cidr(cidr).value();
  if (sub_pool != nullptr) request.sub_pool = parse_cidr(sub_pool).value();
  request.v6 = request.pool->address.family == IpFamily::kV6;
  return request;
}

RequestAddressRequest address_request(const std::string& pool_id, const char* address = nullptr,
                                      AddressRequestType type = AddressRequestType::kEndpoint) {
  RequestAddressRequest request;
  request.pool_id = pool_id;
  if (address != nullptr) request.address = parse_ip(address).value();
  request.type = type;
  return request;
}

std::string allocate(LocalIpam& ipam, const std::string& pool_id, const char* address = nullptr,
                     AddressRequestType type = AddressRequestType::kEndpoint) {
  auto reply = ipam.request_address(address_request(pool_id, address, type));
  return reply ? reply->address.to_string() : "error: " + reply.error().message;
}

TEST(HostOffsetTest, Table) {
  const IpPrefix v4 = parse_cidr("10.10.0.0/16").value();
  EXPECT_EQ(host_offset(v4, parse_ip("10.10.0.0").value(), 1 << 20), 0u);
  EXPECT_EQ(host_offset(v4, parse_ip("10.10.1.2").value(), 1 << 20), 258u);
  EXPECT_EQ(host_offset(v4, parse_ip("10.10.1.2").value(), 258), std::nullopt);
  EXPECT_EQ(host_offset(v4, parse_ip("10.11.0.0").value(), 1 << 20), std::nullopt);
  const IpPrefix v6 = parse_cidr("fd00::/64").value();
  EXPECT_EQ(host_offset(v6, parse_ip("fd00::1:0").value(), 1 << 20), 65536u);
  EXPECT_EQ(host_offset(v6, parse_ip("fd00::1:0:0").value(), 1 << 20), std::nullopt);
  const IpPrefix wide = parse_cidr("fd00::/32").value();
  EXPECT_EQ(host_offset(wide, parse_ip("fd00:0:1::").value(), std::uint64_t{1} << 62), std::nullopt);
  EXPECT_EQ(address_at(v4, 258).to_string(), "10.10.1.2");
  EXPECT_EQ(address_at(parse_cidr("10.0.0.0/8").value(), 0xffffff).to_string(), "10.255.255.255");
  EXPECT_EQ(address_at(v6, 0x1ffff).to_string(), "fd00::1:ffff");
}

TEST(LocalIpamTest, DockerSequence) {
  LocalIpam ipam;
  EXPECT_EQ(ipam.default_address_spaces()->local_default, "FerryLocal");
  auto pool = ipam.request_pool(pool_request("10.10.0.0/24"));
  ASSERT_TRUE(pool) << pool.error().message;
  EXPECT_EQ(pool->pool_id, "FerryLocal/10.10.0.0/24");
  EXPECT_EQ(pool->pool.to_string(), "10.10.0.0/24");
  EXPECT_EQ(allocate(ipam, pool->pool_id, "10.10.0.1", AddressRequestType::kGateway), "10.10.0.1/24");
  EXPECT_EQ(allocate(ipam, pool->pool_id), "10.10.0.2/24");
  EXPECT_EQ(allocate(ipam, pool->pool_id), "10.10.0.3/24");
  ASSERT_TRUE(ipam.release_address({pool->pool_id, parse_ip("10.10.0.2").value()}));
  EXPECT_EQ(allocate(ipam, pool->pool_id), "10.10.0.4/24");  // next-fit: .2 is not reused at once
  const auto pools = ipam.pools();
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(pools[0].allocated.size(), 3u);
  ASSERT_TRUE(ipam.release_pool({pool->pool_id}));
  EXPECT_TRUE(ipam.pools().empty());
}

TEST(LocalIpamTest, PoolsAreReferenceCounted) {
  LocalIpam ipam;
  auto first = ipam.request_pool(pool_request("10.10.0.7/24"));  // host bits are dropped
  auto second = ipam.request_pool(pool_request("10.10.0.0/24"));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->pool_id, second->pool_id);
  EXPECT_EQ(ipam.pools().at(0).references, 2);
  EXPECT_EQ(allocate(ipam, first->pool_id), "10.10.0.1/24");
  ASSERT_TRUE(ipam.release_pool({first->pool_id}));
  EXPECT_EQ(allocate(ipam, first->pool_id), "10.10.0.2/24");  // still there
  ASSERT_TRUE(ipam.release_pool({first->pool_id}));
  auto gone = ipam.release_pool({first->pool_id});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, "pool FerryLocal/10.10.0.0/24 not found");
}

TEST(LocalIpamTest, RefusesWhatDockersDefaultIpamRefuses) {
  LocalIpam ipam;
  RequestPoolRequest no_pool;
  no_pool.address_space = "FerryLocal";
  EXPECT_EQ(ipam.request_pool(no_pool).error().message,
            "no subnet given: Ferry networks need one (docker network create --subnet CIDR)");
  EXPECT_EQ(ipam.request_pool(pool_request("10.0.0.0/8", nullptr, "Other")).error().message,
            "unknown address space \"Other\" (this driver has \"FerryLocal\" and \"FerryGlobal\")");
  const std::string id = ipam.request_pool(pool_request("10.10.0.0/24")).value().pool_id;
  EXPECT_EQ(ipam.request_pool(pool_request("10.10.0.128/25")).error().message,
            "pool 10.10.0.128/25 overlaps pool FerryLocal/10.10.0.0/24 in use");
  EXPECT_EQ(ipam.request_pool(pool_request("10.0.0.0/8")).error().message,
            "pool 10.0.0.0/8 overlaps pool FerryLocal/10.10.0.0/24 in use");
  EXPECT_TRUE(ipam.request_pool(pool_request("10.0.0.0/8", nullptr, "FerryGlobal")));  // other space
  EXPECT_EQ(allocate(ipam, id, "10.10.0.0"), "error: address 10.10.0.0 is reserved in pool FerryLocal/10.10.0.0/24");
  EXPECT_EQ(allocate(ipam, id, "10.10.0.255"),
            "error: address 10.10.0.255 is reserved in pool FerryLocal/10.10.0.0/24");
  EXPECT_EQ(allocate(ipam, id, "10.10.1.1"), "error: address 10.10.1.1 is outside pool FerryLocal/10.10.0.0/24");
  EXPECT_EQ(allocate(ipam, id, "10.10.0.9"), "10.10.0.9/24");
  EXPECT_EQ(allocate(ipam, id, "10.10.0.9"),
            "error: address 10.10.0.9 is already allocated in pool FerryLocal/10.10.0.0/24");
  EXPECT_EQ(allocate(ipam, "nope"), "error: pool nope not found");
  EXPECT_EQ(ipam.release_address({id, parse_ip("10.10.0.8").value()}).error().message,
            "address 10.10.0.8 is not allocated in pool FerryLocal/10.10.0.0/24");
  EXPECT_EQ(ipam.release_address({id, parse_ip("10.10.0.0").value()}).error().message,
            "address 10.10.0.0 is reserved in pool FerryLocal/10.10.0.0/24");
}

TEST(LocalIpamTest, ExhaustionAndSmallPools) {
  LocalIpam ipam;
  const std::string id = ipam.request_pool(pool_request("192.168.5.0/29")).value().pool_id;
  EXPECT_EQ(allocate(ipam, id, nullptr, AddressRequestType::kGateway), "192.168.5.1/29");
  for (int host = 2; host <= 6; ++host) EXPECT_EQ(allocate(ipam, id), fmt::format("192.168.5.{}/29", host));
  EXPECT_EQ(allocate(ipam, id), "error: pool FerryLocal/192.168.5.0/29 has no free address");
  // /31: both addresses usable, /32: its one address.
  const std::string p31 = ipam.request_pool(pool_request("192.168.6.0/31")).value().pool_id;
  EXPECT_EQ(allocate(ipam, p31), "192.168.6.0/31");
  EXPECT_EQ(allocate(ipam, p31), "192.168.6.1/31");
  const std::string p32 = ipam.request_pool(pool_request("192.168.7.7/32")).value().pool_id;
  EXPECT_EQ(allocate(ipam, p32), "192.168.7.7/32");
}

TEST(LocalIpamTest, SubPoolLimitsEndpointsNotTheGateway) {
  LocalIpam ipam;
  const std::string id = ipam.request_pool(pool_request("10.20.0.0/16", "10.20.5.0/30")).value().pool_id;
  EXPECT_EQ(id, "FerryLocal/10.20.0.0/16/10.20.5.0/30");
  EXPECT_EQ(allocate(ipam, id, nullptr, AddressRequestType::kGateway), "10.20.0.1/16");
  for (int host = 0; host < 4; ++host) EXPECT_EQ(allocate(ipam, id), fmt::format("10.20.5.{}/16", host));
  EXPECT_EQ(allocate(ipam, id), "error: pool FerryLocal/10.20.0.0/16/10.20.5.0/30 has no free address");
  EXPECT_EQ(allocate(ipam, id, "10.20.9.9"), "10.20.9.9/16");  // explicit addresses: anywhere in the pool
}

TEST(LocalIpamTest, LargeIpv6PoolUsesTheFirstAddresses) {
  LocalIpam ipam(LocalIpamConfig{"FerryLocal", "FerryGlobal", 1024});
  const std::string id = ipam.request_pool(pool_request("fd00:1::/64")).value().pool_id;
  EXPECT_EQ(allocate(ipam, id, nullptr, AddressRequestType::kGateway), "fd00:1::1/64");
  EXPECT_EQ(allocate(ipam, id), "fd00:1::2/64");
  EXPECT_EQ(allocate(ipam, id, "fd00:1::3ff"), "fd00:1::3ff/64");
  EXPECT_EQ(allocate(ipam, id, "fd00:1::400"),
            "error: address fd00:1::400 lies beyond the first 1024 addresses of pool FerryLocal/fd00:1::/64");
  EXPECT_EQ(allocate(ipam, id, "fd00:1::"), "error: address fd00:1:: is reserved in pool FerryLocal/fd00:1::/64");
}

TEST(LocalIpamTest, ConfigValidate) {
  EXPECT_TRUE(LocalIpamConfig{}.validate());
  EXPECT_FALSE((LocalIpamConfig{"A", "A", 1024}.validate()));
  EXPECT_FALSE((LocalIpamConfig{"A", "B", 2}.validate()));
}

TEST(LocalIpamTest, ThroughTheDispatcherWithDockersBodies) {
  LocalIpam ipam;
  const Dispatcher dispatcher(nullptr, &ipam);
  EXPECT_EQ(dispatcher
                .handle("/IpamDriver.RequestPool",
                        "{\"AddressSpace\":\"FerryLocal\",\"Pool\":\"10.10.0.0/24\",\"SubPool\":\"\","
                        "\"Options\":{},\"V6\":false}\n")
                .body,
            R"({"Data":{},"Pool":"10.10.0.0/24","PoolID":"FerryLocal/10.10.0.0/24"})");
  EXPECT_EQ(dispatcher
                .handle("/IpamDriver.RequestAddress",
                        "{\"PoolID\":\"FerryLocal/10.10.0.0/24\",\"Address\":\"10.10.0.1\",\"Options\":"
                        "{\"RequestAddressType\":\"com.docker.network.gateway\"}}\n")
                .body,
            R"({"Address":"10.10.0.1/24","Data":{}})");
  EXPECT_EQ(dispatcher
                .handle("/IpamDriver.RequestAddress",
                        "{\"PoolID\":\"FerryLocal/10.10.0.0/24\",\"Address\":\"\","
                        "\"Options\":null}\n")
                .body,
            R"({"Address":"10.10.0.2/24","Data":{}})");
  const Reply exhausted =
      dispatcher.handle("/IpamDriver.RequestPool", "{\"AddressSpace\":\"FerryLocal\",\"Pool\":\"\",\"V6\":false}\n");
  EXPECT_EQ(exhausted.status, 500u);
  EXPECT_EQ(exhausted.body,
            R"x({"Err":"no subnet given: Ferry networks need one (docker network create --subnet CIDR)",)x"
            R"x("Error":"no subnet given: Ferry networks need one (docker network create --subnet CIDR)"})x");
}

}  // namespace
}  // namespace ferry::plugins::docker
