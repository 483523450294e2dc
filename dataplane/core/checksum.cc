#include "dataplane/core/checksum.h"

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ferry::dataplane {

namespace {

// Sums 32-bit loads into a 64-bit accumulator: 2^32 loads before it can
// overflow, far beyond any frame. Four accumulators keep the adds independent.
std::uint64_t sum_scalar(const std::uint8_t* p, std::size_t size, std::uint64_t acc) {
  std::uint64_t a0 = acc, a1 = 0, a2 = 0, a3 = 0;
  while (size >= 16) {
    std::uint32_t w[4];
    std::memcpy(w, p, 16);
    a0 += w[0];
    a1 += w[1];
    a2 += w[2];
    a3 += w[3];
    p += 16;
    size -= 16;
  }
  while (size >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    a0 += w;
    p += 4;
    size -= 4;
  }
  if (size >= 2) {
    a1 += load16(p);
    p += 2;
    size -= 2;
  }
  if (size == 1) {
    // The odd last byte is the first (low-address) byte of a zero-padded word.
    std::uint8_t last[2] = {*p, 0};
    a2 += load16(last);
  }
  return csum_add(csum_add(a0, a1), csum_add(a2, a3));
}

#if defined(__x86_64__)

// SSE2 (every x86-64): each 32-bit lane splits into its two 16-bit words,
// added into 32-bit lanes: 65536 rounds before a lane can overflow, so the
// lanes are drained into the 64-bit sum every 32768 rounds.
std::uint64_t sum_sse2(const std::uint8_t* p, std::size_t size) {
  std::uint64_t total = 0;
  const __m128i mask = _mm_set1_epi32(0xffff);
  while (size >= 64) {
    __m128i lo = _mm_setzero_si128(), hi = _mm_setzero_si128();
    std::size_t rounds = size / 64;
    if (rounds > 16384) rounds = 16384;
    for (std::size_t r = 0; r < rounds; ++r) {
      const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
      const __m128i v2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32));
      const __m128i v3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48));
      lo = _mm_add_epi32(lo, _mm_add_epi32(_mm_and_si128(v0, mask), _mm_and_si128(v1, mask)));
      hi = _mm_add_epi32(hi, _mm_add_epi32(_mm_srli_epi32(v0, 16), _mm_srli_epi32(v1, 16)));
      lo = _mm_add_epi32(lo, _mm_add_epi32(_mm_and_si128(v2, mask), _mm_and_si128(v3, mask)));
      hi = _mm_add_epi32(hi, _mm_add_epi32(_mm_srli_epi32(v2, 16), _mm_srli_epi32(v3, 16)));
      p += 64;
    }
    size -= rounds * 64;
    alignas(16) std::uint32_t l[4], h[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(l), lo);
    _mm_store_si128(reinterpret_cast<__m128i*>(h), hi);
    // hi holds the second word of each 32-bit lane: shifting it back up keeps
    // the word order, so the 64-bit sum stays in memory order.
    for (int i = 0; i < 4; ++i) {
      total += l[i];
      total += static_cast<std::uint64_t>(h[i]) << 16;
    }
  }
  return sum_scalar(p, size, total);
}

__attribute__((target("avx2"))) std::uint64_t sum_avx2(const std::uint8_t* p, std::size_t size) {
  std::uint64_t total = 0;
  const __m256i mask = _mm256_set1_epi32(0xffff);
  while (size >= 128) {
    __m256i lo0 = _mm256_setzero_si256(), hi0 = _mm256_setzero_si256();
    __m256i lo1 = _mm256_setzero_si256(), hi1 = _mm256_setzero_si256();
    std::size_t rounds = size / 128;
    if (rounds > 16384) rounds = 16384;
    for (std::size_t r = 0; r < rounds; ++r) {
      const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
      const __m256i v2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64));
      const __m256i v3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 96));
      lo0 = _mm256_add_epi32(lo0, _mm256_and_si256(v0, mask));
      hi0 = _mm256_add_epi32(hi0, _mm256_srli_epi32(v0, 16));
      lo1 = _mm256_add_epi32(lo1, _mm256_and_si256(v1, mask));
      hi1 = _mm256_add_epi32(hi1, _mm256_srli_epi32(v1, 16));
      lo0 = _mm256_add_epi32(lo0, _mm256_and_si256(v2, mask));
      hi0 = _mm256_add_epi32(hi0, _mm256_srli_epi32(v2, 16));
      lo1 = _mm256_add_epi32(lo1, _mm256_and_si256(v3, mask));
      hi1 = _mm256_add_epi32(hi1, _mm256_srli_epi32(v3, 16));
      p += 128;
    }
    size -= rounds * 128;
    // Each lane took at most 2 * 16384 words: no overflow in 32 bits
    // (2 * 16384 * 65535 < 2^31), and lo0 + lo1 stays below 2^32.
    alignas(32) std::uint32_t l[8], h[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(l), _mm256_add_epi32(lo0, lo1));
    _mm256_store_si256(reinterpret_cast<__m256i*>(h), _mm256_add_epi32(hi0, hi1));
    for (int i = 0; i < 8; ++i) {
      total += l[i];
      total += static_cast<std::uint64_t>(h[i]) << 16;
    }
  }
  return csum_add(sum_sse2(p, size), total);
}

#endif

using SumFn = std::uint64_t (*)(const std::uint8_t*, std::size_t);

struct Impl {
  SumFn fn;
  const char* name;
};

Impl choose() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return {sum_avx2, "avx2"};
  return {sum_sse2, "sse2"};
#else
  return {[](const std::uint8_t* p, std::size_t n) { return sum_scalar(p, n, 0); }, "scalar"};
#endif
}

const Impl& impl() {
  static const Impl chosen = choose();
  return chosen;
}

// Chosen before main() so the packet path never takes the static guard.
[[maybe_unused]] const Impl& impl_at_start = impl();

}  // namespace

std::uint64_t csum_bytes(const void* data, std::size_t size) {
  return impl().fn(static_cast<const std::uint8_t*>(data), size);
}

std::uint64_t csum_bytes_scalar(const void* data, std::size_t size) {
  return sum_scalar(static_cast<const std::uint8_t*>(data), size, 0);
}

const char* csum_implementation() { return impl().name; }

std::uint64_t csum_mbuf(const rte_mbuf* m, std::uint32_t offset, std::uint32_t size) {
  while (m != nullptr && offset >= m->data_len) {
    offset -= m->data_len;
    m = m->next;
  }
  std::uint64_t sum = 0;
  bool odd = false;  // the next piece starts at an odd offset of the range
  while (m != nullptr && size > 0) {
    std::uint32_t piece = m->data_len - offset;
    if (piece > size) piece = size;
    const std::uint64_t s = csum_bytes(rte_pktmbuf_mtod_offset(m, const std::uint8_t*, offset), piece);
    sum = csum_add(sum, odd ? csum_swap(s) : s);
    odd ^= (piece & 1) != 0;
    size -= piece;
    offset = 0;
    m = m->next;
  }
  return sum;
}

std::uint64_t csum_be32(std::uint32_t value) { return rte_cpu_to_be_32(value); }

std::uint16_t pseudo_header_ipv4(const std::uint8_t* ip, std::uint8_t proto, std::uint32_t l4_size) {
  std::uint32_t src, dst;
  std::memcpy(&src, ip + 12, 4);
  std::memcpy(&dst, ip + 16, 4);
  std::uint64_t sum = static_cast<std::uint64_t>(src) + dst;
  sum += csum_be32(proto);
  sum += csum_be32(l4_size);
  return csum_fold(sum);
}

std::uint16_t pseudo_header_ipv6(const std::uint8_t* ip6, std::uint8_t proto, std::uint32_t l4_size) {
  std::uint64_t sum = csum_bytes_scalar(ip6 + 8, 32);  // source and destination
  sum += csum_be32(proto);
  sum += csum_be32(l4_size);
  return csum_fold(sum);
}

std::uint16_t ipv4_header_checksum(const std::uint8_t* ip) {
  const std::size_t size = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
  const std::uint64_t sum = csum_bytes_scalar(ip, size) - load16(ip + 10);
  return static_cast<std::uint16_t>(~csum_fold(sum));
}

bool ipv4_header_checksum_ok(const std::uint8_t* ip) {
  const std::size_t size = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
  return csum_fold(csum_bytes_scalar(ip, size)) == 0xffff;
}

std::uint32_t csum_complete(rte_mbuf* m, std::uint32_t l4_offset, std::uint16_t field_offset, bool udp) {
  const std::uint32_t size = m->pkt_len - l4_offset;
  std::uint16_t c = static_cast<std::uint16_t>(~csum_fold(csum_mbuf(m, l4_offset, size)));
  if (udp && c == 0) c = 0xffff;
  store16(rte_pktmbuf_mtod_offset(m, std::uint8_t*, l4_offset + field_offset), c);
  return size;
}

bool csum_verify(const rte_mbuf* m, std::uint32_t l4_offset, std::uint16_t pseudo) {
  const std::uint64_t sum = csum_add(csum_mbuf(m, l4_offset, m->pkt_len - l4_offset), pseudo);
  return csum_fold(sum) == 0xffff;
}

}  // namespace ferry::dataplane
