#include "common/printable.h"

#include <fmt/format.h>

#include <algorithm>

namespace ferry::log {

std::string printable(std::string_view text, std::size_t max_bytes) {
  const std::size_t shown = std::min(text.size(), max_bytes);
  std::string out;
  out.reserve(shown + 32);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < text.size()) {
    out += fmt::format("... ({} more bytes)", text.size() - shown);
  }
  return out;
}

}  // namespace ferry::log
