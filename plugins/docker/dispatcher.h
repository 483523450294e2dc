// Routes one Docker plugin call ("/NetworkDriver.Join" + JSON body) to the
// backends: decode (codec.h), call, encode. Pure request -> reply, no I/O,
// so the whole protocol is testable and fuzzable without sockets.
//
// Status codes: 200 with the reply on success; 500 with {"Err"} (IPAM
// methods: {"Err","Error"}) when decoding or the backend fails; 404 with
// {"Err"} for a method this plugin does not implement. Never throws: an
// exception escaping a backend becomes a 500 too.
#pragma once

#include <string>
#include <string_view>

#include "plugins/docker/ipam_backend.h"
#include "plugins/docker/network_backend.h"

namespace ferry::plugins::docker {

struct Reply {
  unsigned status = 200;
  std::string body;
};

class Dispatcher {
 public:
  // Either backend may be null: that driver is then not announced by
  // Plugin.Activate and its methods answer 404. The backends must outlive
  // the Dispatcher.
  Dispatcher(NetworkBackend* network, IpamBackend* ipam) : network_(network), ipam_(ipam) {}

  // `target` is the HTTP request target ("/IpamDriver.RequestPool"); a query
  // string is ignored. `body` is the raw request body.
  [[nodiscard]] Reply handle(std::string_view target, std::string_view body) const;

 private:
  [[nodiscard]] Reply handle_network(std::string_view method, std::string_view body) const;
  [[nodiscard]] Reply handle_ipam(std::string_view method, std::string_view body) const;

  NetworkBackend* network_;
  IpamBackend* ipam_;
};

}  // namespace ferry::plugins::docker
