// VTEP echo: frame layout, parsing and the per-VTEP state (vtep_echo.h).
#include "dataplane/core/vtep_echo.h"

#include <algorithm>
#include <cstring>

namespace ferry::dataplane {

namespace {

constexpr std::size_t kEth = 14;
constexpr std::size_t kIp = 20;
constexpr std::size_t kUdp = 8;
constexpr std::size_t kVxlan = 8;
constexpr std::size_t kInnerAt = kEth + kIp + kUdp + kVxlan;  // 50
constexpr std::size_t kMessageAt = kInnerAt + kEth + kIp + kUdp;
constexpr std::uint8_t kMagic[4] = {'F', 'E', 'C', '1'};
constexpr std::uint16_t kEchoSrcPort = 49152;  // inner UDP source port

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}
void put64(std::uint8_t* p, std::uint64_t v) {
  put32(p, static_cast<std::uint32_t>(v >> 32));
  put32(p + 4, static_cast<std::uint32_t>(v));
}
std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t get32(const std::uint8_t* p) { return std::uint32_t{get16(p)} << 16 | get16(p + 2); }
std::uint64_t get64(const std::uint8_t* p) { return std::uint64_t{get32(p)} << 32 | get32(p + 4); }

void put_mac(std::uint8_t* p, const MacAddr& mac) { std::memcpy(p, mac.bytes.data(), 6); }

// A 20-byte IPv4 header (no options) with its checksum.
void put_ipv4(std::uint8_t* ip, std::uint16_t total, std::uint8_t ttl, Ipv4Addr src, Ipv4Addr dst) {
  ip[0] = 0x45;
  ip[1] = 0;
  put16(ip + 2, total);
  put16(ip + 4, 0);
  put16(ip + 6, 0x4000);  // DF
  ip[8] = ttl;
  ip[9] = 17;
  put16(ip + 10, 0);
  put32(ip + 12, src.value);
  put32(ip + 16, dst.value);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < kIp; i += 2) sum += get16(ip + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  put16(ip + 10, static_cast<std::uint16_t>(~sum));
}

std::uint64_t stamp_of(VtepEcho::TimePoint t) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

std::uint64_t ms_since(VtepEcho::TimePoint then, VtepEcho::TimePoint now) {
  if (now <= then) return 0;
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now - then).count());
}

}  // namespace

Result<void> VtepEchoConfig::validate() const {
  if (vni == 0 || vni > kMaxVni) return make_error("VTEP echo VNI {} out of range 1..{}", vni, kMaxVni);
  if (interval.count() < 0 || interval > std::chrono::minutes(1)) {
    return make_error("VTEP echo interval {} ms out of range 0..60000", interval.count());
  }
  if (interval.count() > 0 && interval.count() < 10) {
    return make_error("VTEP echo interval {} ms: at least 10 ms (or 0: off)", interval.count());
  }
  if (alive_intervals == 0 || alive_intervals > 100) {
    return make_error("VTEP echo alive intervals {} out of range 1..100", alive_intervals);
  }
  return ok();
}

void build_echo_frame(EchoFrame& out, const EchoIdentity& us, Ipv4Addr to, const MacAddr& next_hop, Vni vni,
                      std::uint16_t src_port, const EchoMessage& msg) {
  out.fill(0);
  std::uint8_t* f = out.data();
  // Outer Ethernet, IPv4, UDP (checksum 0, RFC 7348 §5), VXLAN.
  put_mac(f, next_hop);
  put_mac(f + 6, us.uplink_mac);
  put16(f + 12, 0x0800);
  put_ipv4(f + kEth, static_cast<std::uint16_t>(kEchoFrameSize - kEth), 64, us.vtep_ip, to);
  std::uint8_t* udp = f + kEth + kIp;
  put16(udp, src_port);
  put16(udp + 2, us.udp_port);
  put16(udp + 4, static_cast<std::uint16_t>(kEchoFrameSize - kEth - kIp));
  std::uint8_t* vx = udp + kUdp;
  vx[0] = 0x08;
  put32(vx + 4, vni << 8);
  // Inner Ethernet, IPv4 (TTL 255, RFC 8971), UDP to the echo port.
  std::uint8_t* in = f + kInnerAt;
  std::memcpy(in, kEchoInnerMac.data(), 6);
  put_mac(in + 6, us.uplink_mac);
  put16(in + 12, 0x0800);
  put_ipv4(in + kEth, static_cast<std::uint16_t>(kIp + kUdp + kEchoMessageSize), 255, us.vtep_ip,
           Ipv4Addr{kEchoInnerIp});
  std::uint8_t* iu = in + kEth + kIp;
  put16(iu, kEchoSrcPort);
  put16(iu + 2, kEchoUdpPort);
  put16(iu + 4, static_cast<std::uint16_t>(kUdp + kEchoMessageSize));
  // The message: magic, type, 3 reserved, seq, sender, target, stamp.
  std::uint8_t* m = f + kMessageAt;
  std::memcpy(m, kMagic, 4);
  m[4] = msg.type;
  put32(m + 8, msg.seq);
  put32(m + 12, msg.sender.value);
  put32(m + 16, msg.target.value);
  put64(m + 20, msg.stamp);
}

std::optional<ParsedEcho> parse_echo_frame(std::span<const std::uint8_t> frame, Vni vni) {
  const std::uint8_t* f = frame.data();
  if (frame.size() < kEth + kIp || get16(f + 12) != 0x0800) return std::nullopt;
  const std::uint8_t* ip = f + kEth;
  const std::size_t ihl = (ip[0] & 0x0fu) * 4u;
  if ((ip[0] >> 4) != 4 || ihl < kIp || ip[9] != 17) return std::nullopt;
  const std::size_t inner_at = kEth + ihl + kUdp + kVxlan;
  if (frame.size() < inner_at + kEth + kIp + kUdp + kEchoMessageSize) return std::nullopt;
  const std::uint8_t* vx = f + kEth + ihl + kUdp;
  if ((vx[0] & 0x08) == 0 || (get32(vx + 4) >> 8) != vni) return std::nullopt;
  const std::uint8_t* in = f + inner_at;
  if (std::memcmp(in, kEchoInnerMac.data(), 6) != 0 || get16(in + 12) != 0x0800) return std::nullopt;
  const std::uint8_t* iip = in + kEth;
  if (iip[0] != 0x45 || iip[9] != 17 || get32(iip + 16) != kEchoInnerIp) return std::nullopt;
  const std::uint8_t* iu = iip + kIp;
  if (get16(iu + 2) != kEchoUdpPort || get16(iu + 4) < kUdp + kEchoMessageSize) return std::nullopt;
  const std::uint8_t* m = iu + kUdp;
  if (std::memcmp(m, kMagic, 4) != 0) return std::nullopt;
  if (m[4] != EchoMessage::kRequest && m[4] != EchoMessage::kReply) return std::nullopt;
  ParsedEcho out;
  out.outer_src = Ipv4Addr{get32(ip + 12)};
  out.msg.type = m[4];
  out.msg.seq = get32(m + 8);
  out.msg.sender = Ipv4Addr{get32(m + 12)};
  out.msg.target = Ipv4Addr{get32(m + 16)};
  out.msg.stamp = get64(m + 20);
  return out;
}

void VtepEcho::set_targets(const std::vector<EchoTarget>& targets) {
  std::map<Ipv4Addr, Peer> next;
  for (const auto& t : targets) {
    if (t.ip == us_.vtep_ip) continue;
    auto it = peers_.find(t.ip);
    Peer p = it != peers_.end() ? it->second : Peer{};
    p.next_hop = t.next_hop;
    next[t.ip] = p;
  }
  peers_ = std::move(next);
}

std::uint16_t VtepEcho::src_port(Ipv4Addr to) const {
  // A fixed port per destination in the dynamic range (RFC 8971 §4 asks for
  // one within 49152..65535).
  return static_cast<std::uint16_t>(49152 + (to.value * 2654435761u >> 20) % 16384);
}

std::vector<EchoFrame> VtepEcho::due(TimePoint now) {
  std::vector<EchoFrame> out;
  if (config_.interval.count() == 0) return out;
  for (auto& [ip, p] : peers_) {
    if (now < p.next_probe) continue;
    p.next_probe = now + config_.interval;
    if (!p.next_hop) {
      count(EchoCounter::not_sent_unresolved);
      continue;
    }
    EchoMessage msg;
    msg.type = EchoMessage::kRequest;
    msg.seq = ++p.last_seq;
    msg.sender = us_.vtep_ip;
    msg.target = ip;
    msg.stamp = stamp_of(now);
    build_echo_frame(out.emplace_back(), us_, ip, *p.next_hop, config_.vni, src_port(ip), msg);
    ++p.requests_sent;
    count(EchoCounter::requests_sent);
  }
  return out;
}

std::optional<EchoFrame> VtepEcho::on_frame(std::span<const std::uint8_t> frame, TimePoint now) {
  const auto parsed = parse_echo_frame(frame, config_.vni);
  if (!parsed) {
    count(EchoCounter::malformed);
    return std::nullopt;
  }
  const EchoMessage& msg = parsed->msg;
  if (msg.sender != parsed->outer_src || msg.target != us_.vtep_ip) {
    count(EchoCounter::wrong_target);
    return std::nullopt;
  }
  auto it = peers_.find(parsed->outer_src);
  if (it == peers_.end()) {
    count(EchoCounter::unknown_source);
    return std::nullopt;
  }
  Peer& p = it->second;
  if (msg.type == EchoMessage::kReply) {
    // A reply to one of our last few requests (a late one still counts).
    if (msg.seq == 0 || msg.seq > p.last_seq || p.last_seq - msg.seq >= 4) {
      count(EchoCounter::unexpected_reply);
      return std::nullopt;
    }
    ++p.replies;
    p.last_reply = now;
    const std::uint64_t sent = msg.stamp;
    const std::uint64_t at = stamp_of(now);
    p.rtt_us = at >= sent ? (at - sent) / 1000 : 0;
    count(EchoCounter::replies_received);
    return std::nullopt;
  }
  p.last_request = now;
  if (!p.next_hop) {
    count(EchoCounter::not_sent_unresolved);
    return std::nullopt;
  }
  EchoMessage reply = msg;
  reply.type = EchoMessage::kReply;
  reply.sender = us_.vtep_ip;
  reply.target = parsed->outer_src;
  EchoFrame out{};
  build_echo_frame(out, us_, parsed->outer_src, *p.next_hop, config_.vni, src_port(parsed->outer_src), reply);
  ++p.requests_answered;
  count(EchoCounter::requests_answered);
  return out;
}

std::vector<EchoPeerStatus> VtepEcho::status(TimePoint now) const {
  std::vector<EchoPeerStatus> out;
  out.reserve(peers_.size());
  const auto alive_for = config_.interval * config_.alive_intervals;
  for (const auto& [ip, p] : peers_) {
    EchoPeerStatus s;
    s.ip = ip;
    s.resolved = p.next_hop.has_value();
    s.requests_sent = p.requests_sent;
    s.replies = p.replies;
    s.requests_answered = p.requests_answered;
    if (p.last_reply) s.last_reply_ms = ms_since(*p.last_reply, now);
    if (p.last_request) s.last_request_ms = ms_since(*p.last_request, now);
    s.rtt_us = p.rtt_us;
    s.alive = p.last_reply.has_value() && now - *p.last_reply <= alive_for;
    out.push_back(s);
  }
  return out;
}

}  // namespace ferry::dataplane
