// The CNI plugin `ferry`: one CNI command, run against ferry-agent's admin
// socket (control/agent/cni_api.h), with the container's namespace handed
// over as a file descriptor. ADD, DEL, CHECK, VERSION (spec 1.0.0) and GC,
// STATUS (1.1.0); the result or error JSON goes to `out`. docs/cni.md.
#pragma once

#include <ostream>
#include <string_view>

#include "plugins/cni/config.h"

namespace ferry::cni {

// Returns the process exit code: 0 on success, 1 with an error result.
int run(const Env& env, std::string_view stdin_text, std::ostream& out);

// The same, reading the CNI_* variables from `getenv` first.
int run(const std::function<const char*(const char*)>& getenv, std::string_view stdin_text, std::ostream& out);

}  // namespace ferry::cni
