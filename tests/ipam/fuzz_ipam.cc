// libFuzzer target: the IPAM wire decoder and message handlers, through the
// Allocator's Delegate entry points (gossip, push-pull, requests, answers,
// timers). Built only with -Dfuzz=true (clang):
//   CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined
//   ninja -C build-fuzz tests/ipam/fuzz_ipam && build-fuzz/tests/ipam/fuzz_ipam -max_total_time=300
// Input: byte 0 picks the entry point and whether the rest is fed as it is
// (raw) or drives the structured generator (mostly valid messages with a
// few fields damaged, ipam_fuzz_world.h). A crash, a sanitizer report or a
// broken property of World::feed (abort) is a finding.
#include <google/protobuf/stubs/logging.h>  // SetLogHandler
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "tests/ipam/ipam_fuzz_world.h"

namespace {

std::unique_ptr<ferry::ipam::fuzz::World>& world() {
  static auto* w = [] {
    google::protobuf::SetLogHandler(nullptr);  // bad input is expected here
    spdlog::set_level(spdlog::level::off);     // the gossip node's membership lines, one per input
    return new std::unique_ptr<ferry::ipam::fuzz::World>(std::make_unique<ferry::ipam::fuzz::World>());
  }();  // never destroyed: libFuzzer exits without unwinding
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ferry::ipam::fuzz::World;
  if (size == 0) return 0;
  auto& w = world();
  const std::uint8_t mode = data[0];
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string body = rest;
  if ((mode & 0x80) != 0) {
    std::size_t pos = 0;
    const ferry::ipam::fuzz::Draw draw = [&rest, &pos](std::uint32_t bound) -> std::uint32_t {
      if (bound == 0) return 0;
      std::uint32_t v = 0;
      for (int i = 0; i < 4; ++i) v = (v << 8) | (pos < rest.size() ? static_cast<std::uint8_t>(rest[pos++]) : 0U);
      return v % bound;
    };
    body = w->structured(draw, mode & 0x7f);
  }
  auto r = w->feed(mode & 0x7f, body, (mode & 0x40) != 0);
  if (!r) {
    std::fprintf(stderr, "IPAM property broken: %s\n", r.error().message.c_str());
    std::abort();
  }
  if (w->bloated()) w = std::make_unique<World>();
  return 0;
}
