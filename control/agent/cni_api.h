// The admin API's requests from the CNI plugin (plugins/cni, docs/cni.md),
// as a third front end of the EndpointService next to `ferryctl attach`
// (admin_api.h) and Docker (docker_backend.h): one JSON request in, the
// typed service call, one JSON reply out.
//
//   cni-add     {config, net, subnet?, subnet6?, vni?, container_id, ifname,
//                netns, ip?, ip6?} + the namespace as a passed descriptor
//   cni-del     {config, container_id, ifname}
//   cni-check   {config, net, container_id, ifname, netns} + the namespace
//   cni-gc      {config, valid: [{container_id, ifname}]}
//   cni-status  {net, subnet?}
//
// `config` is the CNI network configuration's name: endpoints made here are
// owned by "cni:CONFIG" (LocalEndpoint::owner), and DEL and GC touch no
// other endpoint (never Docker's or `ferryctl attach`'s). The container's
// namespace comes as a file descriptor (SCM_RIGHTS): the runtime may see it
// under a path the agent cannot (another mount namespace); `netns` is the
// runtime's name for it, kept in the record. A refusal carries the CNI error
// code that fits when one does ("code": 3, 4, 7, 11, 50); the plugin uses
// its own otherwise.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "control/agent/admin_server.h"
#include "control/agent/endpoint_service.h"

namespace ferry::agent {

class ReconcilerControl;

class CniApi {
 public:
  CniApi(EndpointService& service, const ReconcilerControl& reconciler) : service_(service), reconciler_(reconciler) {}

  static bool handles(const std::string& op);
  // Answers through `respond` exactly once; an ADD may answer from a later
  // loop turn (an address from another host's space), with `fds` kept open
  // until then.
  void handle(const nlohmann::json& request, const std::shared_ptr<const PassedFds>& fds,
              const AdminServer::Respond& respond);

  // "cni:CONFIG": the owner of the endpoints made under a network configuration.
  static std::string owner_of(const std::string& config);

 private:
  void add(const nlohmann::json& request, const std::shared_ptr<const PassedFds>& fds,
           const AdminServer::Respond& respond);
  nlohmann::json del(const nlohmann::json& request);
  nlohmann::json check(const nlohmann::json& request, const std::shared_ptr<const PassedFds>& fds);
  nlohmann::json gc(const nlohmann::json& request);
  nlohmann::json status(const nlohmann::json& request) const;

  EndpointService& service_;
  const ReconcilerControl& reconciler_;
};

}  // namespace ferry::agent
