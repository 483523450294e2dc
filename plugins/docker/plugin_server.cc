#include "plugins/docker/plugin_server.h"

#include <chrono>

#include "common/log.h"

namespace ferry::plugins::docker {

Result<std::unique_ptr<UnixHttpServer>> start_plugin_server(UnixHttpServerConfig config, NetworkBackend* network,
                                                            IpamBackend* ipam, CallLog* calls) {
  if (network == nullptr && ipam == nullptr) return make_error("docker plugin: no backend to serve");
  const Dispatcher dispatcher(network, ipam);
  return UnixHttpServer::start(std::move(config), [dispatcher, calls](const HttpRequest& request) {
    const auto arrived = std::chrono::system_clock::now();
    const auto start = std::chrono::steady_clock::now();
    Reply reply = dispatcher.handle(request.target, request.body);
    const auto took =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    std::string_view method = request.target;
    if (!method.empty() && method.front() == '/') method.remove_prefix(1);
    spdlog::debug("docker plugin: {} {} -> {} {}", method, request.body, reply.status, reply.body);
    if (calls != nullptr) {
      calls->record(std::chrono::duration_cast<std::chrono::milliseconds>(arrived.time_since_epoch()).count(), method,
                    request.body, reply.status, reply.body, static_cast<std::uint32_t>(took));
    }
    return HttpResponse{reply.status, std::move(reply.body)};
  });
}

}  // namespace ferry::plugins::docker
