// One Allocator fed arbitrary wire input through its Delegate entry points,
// with the checks made after every input. Shared by the libFuzzer target
// (fuzz_ipam.cc, bytes from the fuzzer) and the deterministic replay test
// (wire_replay_test.cc, bytes from a seeded RNG), so `make test` checks the
// same property the fuzzer explores:
//
//  - no crash, no sanitizer report;
//  - Allocator::check_invariants() holds (maps valid, every allocation in a
//    block this host owns, indexes and counts consistent);
//  - a message counted as dropped (malformed, bad_range, pool_mismatch)
//    changed nothing that is persisted;
//  - gossip and push-pull never take this host's blocks except by a
//    reclaimed record (anything else is a forgery: dropped and reasserted).
// Timers run now and then, with a hand-over among them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "control/gossip/clock.h"
#include "control/gossip/node.h"
#include "control/gossip/transport.h"
#include "control/ipam/allocator.h"
#include "control/ipam/delegate_mux.h"
#include "control/ipam/ipam.pb.h"

namespace ferry::ipam::fuzz {

// Numbers for the generator: from the fuzzer's bytes or from an RNG.
using Draw = std::function<std::uint32_t(std::uint32_t bound)>;  // in [0, bound), 0 if bound == 0

class CaptureTransport final : public gossip::Transport {
 public:
  [[nodiscard]] gossip::Address local_address() const override { return gossip::Address{0x0a000001, 7946}; }
  void send_packet(const gossip::Address&, std::string) override {}
  // Requests in flight, oldest first: each gets one answer or failure.
  void request(const gossip::Address&, uint64_t request_id, std::string) override {
    open.push_back(request_id);
    if (open.size() > 8) open.pop_front();  // as if the node had timed it out quietly
  }
  std::deque<uint64_t> open;
};

inline constexpr const char* kSelf = "fuzz-node";
inline const std::vector<std::string> kOwners = {kSelf, "peer-1", "peer-2", "ghost", "", "bad name"};

class World {
 public:
  World() : node_(gossip::Config::lan(), kSelf, clock_, transport_, 1) {
    node_.start();
    node_.insert_member_quietly("peer-1", gossip::Address{0x0a000002, 7946}, 1, 1);
    node_.insert_member_quietly("peer-2", gossip::Address{0x0a000003, 7946}, 1, 1);
    Config config;
    config.reclaim_after = std::chrono::minutes(30);
    config.max_wire_blocks = 1U << 14;  // keeps each input cheap; the limit itself is checked as well
    alloc_ = std::make_unique<Allocator>(config, node_, clock_, 2);
    alloc_->set_wire_prefix(std::string(DelegateMux::kIpamPrefix));
    node_.set_delegate(alloc_.get());
    // An IPv4 pool this host created (it owns everything) with a few
    // addresses in use, and an IPv6 pool of peer-1 (a donation is asked at
    // once, so responses have a request to answer).
    (void)alloc_->ensure_pool("v4", "10.0.0.0/24", kSelf);
    (void)alloc_->ensure_pool("v6", "fd00:1::/64", "peer-1");
    for (int i = 0; i < 5; ++i) {
      alloc_->allocate("v4", "ep-" + std::to_string(i), std::nullopt, [](const Result<Addr>&) {});
    }
    alloc_->allocate("v4", "fixed", 0x0a000080, [](const Result<Addr>&) {});
    alloc_->allocate("v6", "ep-6", std::nullopt, [](const Result<Addr>&) {});
  }
  ~World() { node_.set_delegate(nullptr); }
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  Allocator& alloc() { return *alloc_; }

  // Builds a message that is mostly well formed (real pool definitions,
  // runs near the pools' bounds, known owners), with a few fields mutated;
  // usually of a kind `entry` (as for feed) expects.
  std::string structured(const Draw& d, std::uint32_t entry) const {
    v1::IpamMessage msg;
    static constexpr std::uint32_t kExpected[5][2] = {{0, 0}, {1, 1}, {2, 4}, {3, 1}, {0, 5}};
    const std::uint32_t kind = d(4) == 0 ? d(6) : kExpected[entry % 5][d(2)];
    switch (kind) {
      case 0:
      case 1: {
        v1::Records* recs = kind == 0 ? msg.mutable_update() : msg.mutable_state();
        const std::uint32_t pools = 1 + d(2);
        for (std::uint32_t i = 0; i < pools; ++i) {
          auto* pr = recs->add_pools();
          const PoolSpec spec = pick_spec(d, *pr->mutable_spec());
          add_runs(d, spec, *pr->mutable_runs());
        }
        break;
      }
      case 2: {
        auto* req = msg.mutable_donation_request();
        const PoolSpec spec = pick_spec(d, *req->mutable_spec());
        if (d(2) == 0) {
          req->set_specific(true);
          req->set_address(spec.subnet + d(spec.size() + 8));
        }
        break;
      }
      case 3: {
        auto* resp = msg.mutable_donation_response();
        v1::PoolSpec unused;
        const PoolSpec spec = pick_spec(d, unused);
        resp->set_pool(d(8) == 0 ? std::string("nope") : spec.name);
        if (d(3) == 0) {
          resp->set_error("no");
          if (d(2) == 0) resp->set_hint(kOwners[d(static_cast<std::uint32_t>(kOwners.size()))]);
          resp->set_address_in_use(d(2) == 0);
        } else {
          add_runs(d, spec, *resp->mutable_runs(), true);
        }
        break;
      }
      case 4: {
        auto* sync = msg.mutable_sync_request();
        for (std::uint32_t i = d(3); i > 0; --i) {
          auto* dg = sync->add_digests();
          dg->set_pool(i == 1 ? "v4" : "v6");
          dg->set_digest(d(0xffffffffU));
        }
        break;
      }
      default:
        break;  // an empty message: no body
    }
    std::string bytes = msg.SerializeAsString();
    // Byte-level damage now and then: flips, a truncation.
    if (d(4) == 0 && !bytes.empty()) {
      for (std::uint32_t i = d(3) + 1; i > 0; --i) {
        bytes[d(static_cast<std::uint32_t>(bytes.size()))] ^= static_cast<char>(1U << d(8));
      }
    }
    if (d(8) == 0) bytes.resize(d(static_cast<std::uint32_t>(bytes.size()) + 1));
    return bytes;
  }

  // Feeds one input to entry point `entry`; the wire prefix is added unless
  // `raw`. Returns the first broken property.
  Result<void> feed(std::uint32_t entry, std::string_view body, bool raw) {
    const std::string before = alloc_->snapshot();
    const std::uint64_t drops = dropped();
    const bool gossip_path = entry % 5 == 0 || entry % 5 == 1;
    // Pool -> blocks this host owns by a record that is not a reclaim. (Its
    // own reclaimed record may lose to another heir's and that heir's later
    // records: settling covers it, docs/ipam.md.)
    std::map<std::string, std::vector<std::uint32_t>> mine_before;
    for (const std::string& name : alloc_->pool_names()) {
      const BlockMap* m = alloc_->map(name);
      for (const std::uint32_t b : m->blocks_of(kSelf)) {
        if (!m->at(b).reclaimed) mine_before[name].push_back(b);
      }
    }
    std::string wire = raw ? std::string(body) : std::string(DelegateMux::kIpamPrefix) + std::string(body);
    const gossip::Bytes bytes = gossip::as_bytes(wire);
    switch (entry % 5) {
      case 0:
        alloc_->notify_user_msg("peer-1", bytes);
        break;
      case 1:
        alloc_->merge_remote_state(bytes, body.size() % 2 == 0);
        break;
      case 2:
        (void)alloc_->handle_user_request(body.size() % 3 == 0 ? "peer-2" : "peer-1", bytes);
        break;
      case 3:  // the answer to one of this host's requests (no prefix on answers)
        if (!transport_.open.empty()) {
          const auto it = transport_.open.begin() + static_cast<std::ptrdiff_t>(body.size() % transport_.open.size());
          const uint64_t id = *it;
          transport_.open.erase(it);
          alloc_->notify_user_response(id, Result<std::string>(std::string(body)));
        }
        break;
      default:  // time passes: timers, checks, retries, new requests
        clock_.advance(std::chrono::milliseconds(1 + body.size() * 37));
        // The node ends every request with an answer or a failure: a
        // donation left unanswered times out now and then.
        if (!transport_.open.empty() && body.size() % 2 == 0) {
          const uint64_t id = transport_.open.front();
          transport_.open.pop_front();
          alloc_->notify_user_response(id, Result<std::string>(make_error("request timed out")));
        }
        alloc_->tick(clock_.now());
        if (body.size() % 16 == 5) (void)alloc_->hand_over();
        // Keep a shortage open so that donation answers have a taker.
        if (alloc_->pending() == 0) {
          alloc_->allocate("v6", "t-" + std::to_string(++allocations_), std::nullopt, [](const Result<Addr>&) {});
        }
        break;
    }
    if (auto v = alloc_->check_invariants(); !v) return v;
    if (dropped() != drops && alloc_->snapshot() != before) {
      return make_error("a message counted as dropped changed the persisted state");
    }
    if (gossip_path) {
      for (const auto& [name, blocks] : mine_before) {
        const BlockMap* m = alloc_->map(name);
        for (const std::uint32_t b : blocks) {
          if (m->owner(b) != kSelf && !m->at(b).reclaimed) {
            return make_error("pool {} block {}: taken from this host by a record it did not write", name, b);
          }
        }
      }
    }
    return ok();
  }

  // Pools learned from the wire cost memory (up to 2^20 blocks each): the
  // caller starts a new World when this says so.
  [[nodiscard]] bool bloated() const {
    std::size_t blocks = 0;
    for (const std::string& name : alloc_->pool_names()) blocks += alloc_->map(name)->size();
    return alloc_->pool_names().size() > 8 || blocks > (1U << 16);
  }

 private:
  std::uint64_t dropped() const {
    return alloc_->counter(Counter::malformed) + alloc_->counter(Counter::bad_range) +
           alloc_->counter(Counter::pool_mismatch);
  }

  // A pool definition: one of the two known pools or a new one, sometimes
  // with a field changed. Returns what was encoded (for run bounds).
  PoolSpec pick_spec(const Draw& d, v1::PoolSpec& out) const {
    PoolSpec spec;
    switch (d(4)) {
      case 0:
        spec = *alloc_->spec("v4");
        break;
      case 1:
        spec = *alloc_->spec("v6");
        break;
      case 2:
        spec = *PoolSpec::make("new6", "fd00:9::100/120", "peer-2", 4096);
        break;
      default:
        spec = *PoolSpec::make("new4", "10.9.0.0/28", kSelf, 4096);
        break;
    }
    out.set_name(spec.name);
    out.set_subnet(spec.subnet);
    out.set_prefix_len(spec.prefix_len);
    out.set_block_size(spec.block_size);
    out.set_genesis(spec.genesis);
    if (spec.is_v6()) {
      out.set_ipv6_network(spec.net6.data(), spec.net6.size());
      out.set_ipv6_prefix_len(spec.prefix6);
    }
    if (d(4) == 0) {
      switch (d(8)) {
        case 0:
          out.set_subnet(d(0xffffffffU));
          break;
        case 1:
          out.set_prefix_len(d(40));
          break;
        case 2:
          out.set_block_size(d(2) == 0 ? 0 : 1U << d(32));
          break;
        case 3:
          out.set_genesis(kOwners[d(static_cast<std::uint32_t>(kOwners.size()))]);
          break;
        case 4:
          out.mutable_ipv6_network()->resize(d(20));
          break;
        case 5:
          out.set_ipv6_prefix_len(d(130));
          break;
        case 6:
          if (!out.ipv6_network().empty()) (*out.mutable_ipv6_network())[d(16)] ^= static_cast<char>(1U << d(8));
          break;
        default:
          out.set_name(d(2) == 0 ? "" : std::string(200, 'x'));
          break;
      }
    }
    return spec;
  }

  // Runs near the pool's blocks; a donation (`to_self`) mostly gives this
  // host blocks at version 1, which is what a genuine one looks like here.
  void add_runs(const Draw& d, const PoolSpec& spec, google::protobuf::RepeatedPtrField<v1::Run>& runs,
                bool to_self = false) const {
    const std::uint32_t n = d(5);
    std::uint32_t next = d(spec.num_blocks());
    for (std::uint32_t i = 0; i < n; ++i) {
      auto* r = runs.Add();
      const bool wild = d(10) == 0;
      r->set_first(wild ? d(0xffffffffU) : next);
      r->set_count(wild ? d(0xffffffffU) : 1 + d(spec.num_blocks() / 4 + 1));
      const bool genuine = to_self && d(4) != 0;
      r->set_owner(genuine ? std::string(kSelf) : kOwners[d(static_cast<std::uint32_t>(kOwners.size()))]);
      r->set_version(genuine ? 1 : d(6));
      r->set_reclaimed(!genuine && d(4) == 0);
      next = r->first() + r->count() + d(3);
    }
  }

  std::uint64_t allocations_ = 0;
  gossip::ManualClock clock_;
  CaptureTransport transport_;
  gossip::Node node_;
  std::unique_ptr<Allocator> alloc_;
};

}  // namespace ferry::ipam::fuzz
