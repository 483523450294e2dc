#include "control/gossip/envelope.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace ferry::gossip {

namespace {

void put_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}
void put_u64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}
std::uint32_t get_u32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
  return v;
}
std::uint64_t get_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

const char* const kDropNames[] = {
#define FERRY_X(name, metric, help) metric,
    FERRY_ENVELOPE_DROPS(FERRY_X)
#undef FERRY_X
};
const char* const kDropHelp[] = {
#define FERRY_X(name, metric, help) help,
    FERRY_ENVELOPE_DROPS(FERRY_X)
#undef FERRY_X
};

}  // namespace

static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kEnvelopeNonce);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kEnvelopeTag);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kKeySize);

const char* envelope_drop_name(EnvelopeDrop drop) {
  return drop < EnvelopeDrop::kCount ? kDropNames[static_cast<std::size_t>(drop)] : "none";
}
const char* envelope_drop_help(EnvelopeDrop drop) {
  return drop < EnvelopeDrop::kCount ? kDropHelp[static_cast<std::size_t>(drop)] : "accepted";
}

Result<void> EnvelopeConfig::validate() const {
  if (max_datagram_size < kEnvelopeOverhead + 1 || max_datagram_size > 65507) {
    return make_error("envelope max_datagram_size {} must be in [{}, 65507] bytes", max_datagram_size,
                      kEnvelopeOverhead + 1);
  }
  if (max_frame_size < max_datagram_size || max_frame_size > (1u << 30)) {
    return make_error("envelope max_frame_size {} must be in [max_datagram_size, 1 GiB]", max_frame_size);
  }
  if (replay_window_ms < 1000 || replay_window_ms > 24LL * 3600 * 1000) {
    return make_error("envelope replay_window_ms {} must be in [1000, 86400000]", replay_window_ms);
  }
  if (max_senders < 16) return make_error("envelope max_senders {} must be at least 16", max_senders);
  return ok();
}

std::uint64_t EnvelopeStats::dropped() const {
  std::uint64_t n = 0;
  for (auto d : drops) n += d;
  return n;
}

Envelope::Envelope(const Keyring& keyring, EnvelopeConfig config, std::uint64_t instance)
    : keyring_(keyring), config_(config), instance_(instance) {
  if (sodium_init() < 0) std::abort();
}

namespace {

// Additional data: the outer header, then the recipient's address.
using AdBytes = std::array<std::uint8_t, kEnvelopeOuterHeader + kEnvelopeRecipient>;
AdBytes additional_data(const std::uint8_t* outer, const Address& recipient) {
  AdBytes ad{};
  std::memcpy(ad.data(), outer, kEnvelopeOuterHeader);
  put_u32(ad.data() + kEnvelopeOuterHeader, recipient.ip);
  ad[kEnvelopeOuterHeader + 4] = static_cast<std::uint8_t>(recipient.port >> 8);
  ad[kEnvelopeOuterHeader + 5] = static_cast<std::uint8_t>(recipient.port);
  return ad;
}

}  // namespace

std::string Envelope::seal(Channel channel, const Address& to, std::string_view payload, std::int64_t wall_ms) {
  const std::size_t plain_size = kEnvelopeInnerHeader + payload.size();
  std::string out(kEnvelopeOuterHeader + kEnvelopeNonce + plain_size + kEnvelopeTag, '\0');
  auto* p = reinterpret_cast<std::uint8_t*>(out.data());
  p[0] = kEnvelopeVersion;
  p[1] = static_cast<std::uint8_t>(channel);
  put_u32(p + 2, keyring_.primary_id());
  std::uint8_t* nonce = p + kEnvelopeOuterHeader;
  randombytes_buf(nonce, kEnvelopeNonce);
  // Build the plaintext in place, then encrypt in place (libsodium allows it).
  std::uint8_t* body = nonce + kEnvelopeNonce;
  put_u64(body, instance_);
  put_u64(body + 8, next_seq_++);
  put_u64(body + 16, static_cast<std::uint64_t>(wall_ms));
  if (!payload.empty()) std::memcpy(body + kEnvelopeInnerHeader, payload.data(), payload.size());
  unsigned long long cipher_size = 0;
  const AdBytes ad = additional_data(p, to);
  crypto_aead_xchacha20poly1305_ietf_encrypt(body, &cipher_size, body, plain_size, ad.data(), ad.size(), nullptr, nonce,
                                             keyring_.primary().data());
  ++stats_.sealed;
  return out;
}

EnvelopeDrop Envelope::drop(EnvelopeDrop reason) {
  ++stats_.drops[static_cast<std::size_t>(reason)];
  return reason;
}

EnvelopeDrop Envelope::open(Channel channel, const Address& self, std::string_view wire, std::int64_t wall_ms,
                            std::string& payload) {
  const std::size_t limit = channel == Channel::kDatagram ? config_.max_datagram_size : config_.max_frame_size;
  if (wire.size() < kEnvelopeOverhead) return drop(EnvelopeDrop::kTooShort);
  if (wire.size() > limit) return drop(EnvelopeDrop::kOversize);
  const auto* p = reinterpret_cast<const std::uint8_t*>(wire.data());
  if (p[0] != kEnvelopeVersion) return drop(EnvelopeDrop::kBadVersion);
  if (p[1] != static_cast<std::uint8_t>(channel)) return drop(EnvelopeDrop::kBadChannel);
  const Key* key = keyring_.find(get_u32(p + 2));
  if (key == nullptr) return drop(EnvelopeDrop::kUnknownKey);

  const std::uint8_t* nonce = p + kEnvelopeOuterHeader;
  const std::uint8_t* cipher = nonce + kEnvelopeNonce;
  const std::size_t cipher_size = wire.size() - kEnvelopeOuterHeader - kEnvelopeNonce;
  std::string plain(cipher_size - kEnvelopeTag, '\0');
  unsigned long long plain_size = 0;
  const AdBytes ad = additional_data(p, self);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<std::uint8_t*>(plain.data()), &plain_size, nullptr,
                                                 cipher, cipher_size, ad.data(), ad.size(), nonce, key->data()) != 0) {
    return drop(EnvelopeDrop::kAuthFailed);
  }
  const auto* inner = reinterpret_cast<const std::uint8_t*>(plain.data());
  const std::uint64_t instance = get_u64(inner);
  const std::uint64_t seq = get_u64(inner + 8);
  const auto sent_ms = static_cast<std::int64_t>(get_u64(inner + 16));
  // Compare without overflow: a forged-but-authentic timestamp cannot exist
  // (only key holders seal), but a sender's clock may be anything.
  const std::int64_t skew = sent_ms > wall_ms ? sent_ms - wall_ms : wall_ms - sent_ms;
  if (sent_ms < 0 || skew > config_.replay_window_ms) return drop(EnvelopeDrop::kStale);

  expire(wall_ms);
  auto [it, fresh] = windows_.try_emplace(instance);
  Window& w = it->second;
  if (fresh) {
    w.highest = seq;
    w.seen.set(0);
  } else if (seq > w.highest) {
    const std::uint64_t shift = seq - w.highest;
    w.seen = shift >= kReplaySlots ? std::bitset<kReplaySlots>{} : w.seen << shift;
    w.seen.set(0);
    w.highest = seq;
  } else {
    const std::uint64_t back = w.highest - seq;
    if (back >= kReplaySlots || w.seen.test(back)) return drop(EnvelopeDrop::kReplay);
    w.seen.set(back);
  }
  w.last_ms = wall_ms;
  payload.assign(plain, kEnvelopeInnerHeader, std::string::npos);
  ++stats_.opened;
  return EnvelopeDrop::kNone;
}

void Envelope::expire(std::int64_t wall_ms) {
  // Sweep at most every replay_window/2, plus whenever the cap is exceeded.
  if (wall_ms < next_expiry_ms_ && windows_.size() < config_.max_senders) return;
  next_expiry_ms_ = wall_ms + config_.replay_window_ms / 2;
  const std::int64_t horizon = wall_ms - 2 * config_.replay_window_ms;
  std::erase_if(windows_, [horizon](const auto& kv) { return kv.second.last_ms < horizon; });
  if (windows_.size() >= config_.max_senders) {
    // Still full: forget the least recently seen.
    auto oldest = std::min_element(windows_.begin(), windows_.end(),
                                   [](const auto& a, const auto& b) { return a.second.last_ms < b.second.last_ms; });
    windows_.erase(oldest);
  }
}

}  // namespace ferry::gossip
