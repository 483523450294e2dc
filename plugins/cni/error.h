// CNI's error result (spec "Error"): a code, a short message and details a
// person can act on, printed on stdout as JSON and with a non-zero exit.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ferry::cni {

// The spec's well-known codes, and the plugin's own (100+).
enum ErrorCode : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kContainerUnknown = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidConfig = 7,
  kTryAgainLater = 11,
  kNotAvailable = 50,
  kLimitedConnectivity = 51,
  // Ferry's: the agent refused the request (the details say why: no free
  // address, a clash with another endpoint, ...).
  kAgentRefused = 100,
  // Ferry's: CHECK found the container's interface missing or changed.
  kInterfaceChanged = 101,
};

struct CniError {
  int code = 0;
  std::string msg;
  std::string details;

  // {"cniVersion", "code", "msg", "details"}.
  [[nodiscard]] nlohmann::json to_json(const std::string& cni_version) const {
    nlohmann::json out{{"cniVersion", cni_version}, {"code", code}, {"msg", msg}};
    if (!details.empty()) out["details"] = details;
    return out;
  }
};

}  // namespace ferry::cni
