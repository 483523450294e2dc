// Docker's remote network + IPAM driver served on a unix socket: the
// Dispatcher (dispatcher.h) behind a UnixHttpServer (http/unix_http_server.h).
// ferry-agent calls start_plugin_server() once with its backends; the
// threading contract is the server's: backends are called from the server
// thread, one call at a time.
#pragma once

#include <memory>

#include "plugins/docker/call_log.h"
#include "plugins/docker/dispatcher.h"
#include "plugins/http/unix_http_server.h"

namespace ferry::plugins::docker {

// Default socket Docker discovers the "ferry" plugin by.
inline constexpr const char* kDefaultSocketPath = "/run/docker/plugins/ferry.sock";

// Either backend may be null (that driver is then not offered); both must
// outlive the returned server. With `calls`, every call is recorded there
// (and logged at debug level with both bodies); it must outlive the server.
[[nodiscard]] Result<std::unique_ptr<UnixHttpServer>> start_plugin_server(UnixHttpServerConfig config,
                                                                          NetworkBackend* network, IpamBackend* ipam,
                                                                          CallLog* calls = nullptr);

}  // namespace ferry::plugins::docker
