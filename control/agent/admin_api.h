// The admin API's requests (ferryctl, docs/operations.md) that concern
// networks and endpoints, as a front end of the EndpointService: one JSON
// request in, the typed service call, one JSON reply out ({"ok": true, ...}
// or {"ok": false, "error": "..."}). The agent answers the other requests
// (members, peers, status, ipam) itself.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "control/agent/admin_server.h"
#include "control/agent/endpoint_service.h"

namespace ferry::agent {

class AdminApi {
 public:
  explicit AdminApi(EndpointService& service) : service_(service) {}

  // True for the ops answered here: net-create, net-rm, networks, attach,
  // detach, endpoints.
  static bool handles(const std::string& op);
  // Answers through `respond` exactly once; an attach may answer from a
  // later loop turn (an address from another host's space).
  void handle(const nlohmann::json& request, const AdminServer::Respond& respond);

 private:
  nlohmann::json net_create(const nlohmann::json& request);
  nlohmann::json net_rm(const nlohmann::json& request);
  nlohmann::json networks() const;
  void attach(const nlohmann::json& request, const AdminServer::Respond& respond);
  nlohmann::json detach(const nlohmann::json& request);
  nlohmann::json endpoints() const;

  EndpointService& service_;
};

}  // namespace ferry::agent
