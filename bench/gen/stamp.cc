#include "bench/gen/stamp.h"

#include "bench/gen/checksum.h"

namespace ferry::bench::gen {

void encode_stamp(std::uint8_t* p, const Stamp& stamp) {
  put_be32(p, kStampMagic);
  put_be16(p + kStampStreamOffset, stamp.stream);
  put_be32(p + kStampSeqOffset, stamp.seq);
  put_be64(p + kStampTscOffset, stamp.tsc);
}

bool decode_stamp(const std::uint8_t* p, std::size_t size, Stamp* out) {
  if (size < kStampSize || get_be32(p) != kStampMagic) return false;
  out->stream = get_be16(p + kStampStreamOffset);
  out->seq = get_be32(p + kStampSeqOffset);
  out->tsc = get_be64(p + kStampTscOffset);
  return true;
}

}  // namespace ferry::bench::gen
