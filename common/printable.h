// Text from outside (a request field, a peer's message) made fit for one log
// line or reply: bytes outside printable ASCII (and the backslash) become
// \xNN, and text longer than `max_bytes` is cut there and says how much was
// left out, so hostile input costs a short line and cannot forge lines or
// terminal escapes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ferry::log {

std::string printable(std::string_view text, std::size_t max_bytes = 256);

}  // namespace ferry::log
