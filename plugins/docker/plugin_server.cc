#include "plugins/docker/plugin_server.h"

namespace ferry::plugins::docker {

Result<std::unique_ptr<UnixHttpServer>> start_plugin_server(UnixHttpServerConfig config, NetworkBackend* network,
                                                            IpamBackend* ipam) {
  if (network == nullptr && ipam == nullptr) return make_error("docker plugin: no backend to serve");
  const Dispatcher dispatcher(network, ipam);
  return UnixHttpServer::start(std::move(config), [dispatcher](const HttpRequest& request) {
    Reply reply = dispatcher.handle(request.target, request.body);
    return HttpResponse{reply.status, std::move(reply.body)};
  });
}

}  // namespace ferry::plugins::docker
