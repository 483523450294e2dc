// The service manager's readiness protocol (systemd Type=notify): one
// datagram "READY=1" (or "STOPPING=1", "STATUS=...") to the unix socket named
// by $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name. Written
// here in a few lines rather than linking libsystemd: the daemons need
// nothing else of it, and they run the same without a service manager.
#pragma once

#include <string_view>

#include "common/result.h"

namespace ferry::sd {

// Sends `state` (newline-separated VAR=value lines) to $NOTIFY_SOCKET. Without
// NOTIFY_SOCKET there is nobody to tell: ok, nothing sent.
Result<void> notify(std::string_view state);

}  // namespace ferry::sd
