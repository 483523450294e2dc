// Whether a client can reach a server on a unix socket path, and if not,
// why: nothing there, not a socket, not allowed, nobody listening, or a
// server that accepts. Clients of the data plane's API use it so an error
// says what happened and what to do ("permission denied on PATH: run as
// root or as a member of --api-group") instead of a bare timeout.
//
// The probe is one stat(2) and one non-blocking connect(2), closed at once:
// a server sees a connection that ends before its first byte. It never
// waits: a listener whose backlog is full answers at once (kAccepting, busy),
// so a caller's own timeout and cancel descriptor (the data-plane client's)
// are never held up by it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry {

enum class UnixSocketState : std::uint8_t {
  kAccepting,     // connect() succeeded: a server listens
  kMissing,       // no such file, or a directory on the way is missing
  kNotSocket,     // the path exists and is not a socket
  kNoPermission,  // not allowed to connect (EACCES/EPERM): mode or group
  kRefused,       // a socket file nobody listens on (the server exited)
  kOther,         // anything else: see err
};

struct UnixSocketProbe {
  UnixSocketState state = UnixSocketState::kOther;
  int err = 0;  // errno behind the state (0 for kAccepting, kNotSocket)
};

// Pure: the state a failed connect(2) (or stat(2)) errno means.
UnixSocketState classify_connect_errno(int err);

// Probes `path` (a filesystem path, not an abstract name).
UnixSocketProbe probe_unix_socket(const std::string& path);

// What to tell a user whose client could not use `path`, served by
// `server` (e.g. "ferry-dataplane"). `path_flag` is the server's flag that
// sets the path, `group_flag` its flag that opens the socket to a group
// (empty: none). For kAccepting, `timeout_ms` > 0 means the server accepted
// but sent no reply within that time.
std::string explain_unreachable(std::string_view path, const UnixSocketProbe& probe, std::string_view server,
                                std::string_view path_flag, std::string_view group_flag, long long timeout_ms);

}  // namespace ferry
