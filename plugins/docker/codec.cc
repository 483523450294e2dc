#include "plugins/docker/codec.h"

#include <nlohmann/json.hpp>

#include <string_view>
#include <utility>

namespace ferry::plugins::docker {

using json = nlohmann::json;

namespace {

// Serialises without throwing: invalid UTF-8 (only possible in text we
// built ourselves) is replaced rather than raising type_error.
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

const char* type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "number";
    default:
      return "invalid value";
  }
}

// Nesting depth of a JSON text, counting brackets outside strings. Runs
// before the parser so a hostile body cannot make later code recurse deeply.
int max_depth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

Result<json> parse_object(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return make_error("empty body, expected a JSON object");
  }
  if (max_depth(body) > kMaxJsonDepth) return make_error("JSON nested deeper than {} levels", kMaxJsonDepth);
  json document = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return make_error("malformed JSON body");
  if (!document.is_object()) return make_error("body must be a JSON object, got {}", type_name(document));
  return document;
}

// Reads typed fields of one JSON object; every error names the field by its
// path ("IPv4Data[0].Pool").
class Fields {
 public:
  Fields(const json& object, std::string prefix) : object_(object), prefix_(std::move(prefix)) {}

  [[nodiscard]] std::string path(std::string_view name) const { return prefix_ + std::string(name); }

  // nullptr when the field is absent or null.
  [[nodiscard]] const json* find(std::string_view name) const {
    const auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  [[nodiscard]] Error wrong_type(std::string_view name, std::string_view expected, const json& got) const {
    return make_error("field \"{}\": expected {}, got {}", path(name), expected, type_name(got));
  }

  // A field that must be present (null counts as missing) and a string.
  Result<std::string> required_string(std::string_view name) const {
    const auto it = object_.find(name);
    if (it == object_.end()) return make_error("missing field \"{}\"", path(name));
    if (!it->is_string()) return wrong_type(name, "a string", *it);
    return it->get<std::string>();
  }

  // Absent or null reads as "".
  Result<std::string> optional_string(std::string_view name) const {
    const json* value = find(name);
    if (value == nullptr) return std::string();
    if (!value->is_string()) return wrong_type(name, "a string", *value);
    return value->get<std::string>();
  }

  // A non-empty printable-ASCII identifier of at most kMaxIdSize bytes.
  Result<std::string> id(std::string_view name) const {
    auto text = required_string(name);
    if (!text) return text;
    if (text->empty()) return make_error("field \"{}\": must not be empty", path(name));
    if (text->size() > kMaxIdSize) return make_error("field \"{}\": longer than {} bytes", path(name), kMaxIdSize);
    for (const char c : *text) {
      if (c <= ' ' || c > '~') return make_error("field \"{}\": contains a non-printable character", path(name));
    }
    return text;
  }

  Result<bool> optional_bool(std::string_view name) const {
    const json* value = find(name);
    if (value == nullptr) return false;
    if (!value->is_boolean()) return wrong_type(name, "a boolean", *value);
    return value->get<bool>();
  }

  // An object of strings; absent, null and {} read as empty.
  Result<StringMap> string_map(std::string_view name) const {
    const json* value = find(name);
    StringMap out;
    if (value == nullptr) return out;
    if (!value->is_object()) return wrong_type(name, "an object", *value);
    for (const auto& [key, item] : value->items()) {
      if (!item.is_string()) {
        return make_error("field \"{}.{}\": expected a string, got {}", path(name), key, type_name(item));
      }
      out.emplace(key, item.get<std::string>());
    }
    return out;
  }

  // An object kept as compact JSON; absent and null read as "{}".
  Result<std::string> raw_object(std::string_view name) const {
    const json* value = find(name);
    if (value == nullptr) return std::string("{}");
    if (!value->is_object()) return wrong_type(name, "an object", *value);
    return dump(*value);
  }

  // "" (or absent/null) reads as no prefix.
  Result<std::optional<IpPrefix>> optional_cidr(std::string_view name) const {
    auto text = optional_string(name);
    if (!text) return std::move(text).error();
    if (text->empty()) return std::optional<IpPrefix>();
    auto prefix = parse_cidr(*text);
    if (!prefix) return prefix.error().wrap(fmt::format("field \"{}\"", path(name)));
    return std::optional<IpPrefix>(*prefix);
  }

  Result<std::optional<IpAddress>> optional_ip(std::string_view name) const {
    auto text = optional_string(name);
    if (!text) return std::move(text).error();
    if (text->empty()) return std::optional<IpAddress>();
    auto ip = parse_ip(*text);
    if (!ip) return ip.error().wrap(fmt::format("field \"{}\"", path(name)));
    return std::optional<IpAddress>(*ip);
  }

  Result<std::optional<MacAddress>> optional_mac(std::string_view name) const {
    auto text = optional_string(name);
    if (!text) return std::move(text).error();
    if (text->empty()) return std::optional<MacAddress>();
    auto mac = parse_mac(*text);
    if (!mac) return make_error("field \"{}\": invalid MAC address \"{}\"", path(name), *text);
    return std::optional<MacAddress>(*mac);
  }

 private:
  const json& object_;
  std::string prefix_;
};

// Unwraps a Result into `target` or returns its error from the caller.
#define FERRY_ASSIGN(target, expression)             \
  do {                                               \
    auto result_ = (expression);                     \
    if (!result_) return std::move(result_).error(); \
    (target) = std::move(*result_);                  \
  } while (false)

Result<IpamData> decode_ipam_data(const json& item, const std::string& prefix) {
  if (!item.is_object()) return make_error("field \"{}\": expected an object, got {}", prefix, type_name(item));
  const Fields fields(item, prefix + ".");
  IpamData data;
  FERRY_ASSIGN(data.address_space, fields.optional_string("AddressSpace"));
  std::optional<IpPrefix> pool;
  FERRY_ASSIGN(pool, fields.optional_cidr("Pool"));
  if (!pool) return make_error("missing field \"{}\"", fields.path("Pool"));
  data.pool = *pool;
  FERRY_ASSIGN(data.gateway, fields.optional_cidr("Gateway"));
  if (data.gateway && !data.pool.contains(data.gateway->address)) {
    return make_error("field \"{}\": {} is outside pool {}", fields.path("Gateway"), data.gateway->to_string(),
                      data.pool.to_string());
  }
  StringMap aux;
  FERRY_ASSIGN(aux, fields.string_map("AuxAddresses"));
  for (const auto& [name, text] : aux) {
    auto address = parse_cidr(text);
    if (!address) return address.error().wrap(fmt::format("field \"{}AuxAddresses.{}\"", fields.path(""), name));
    data.aux_addresses.emplace(name, *address);
  }
  return data;
}

Result<std::vector<IpamData>> decode_ipam_list(const Fields& fields, std::string_view name) {
  std::vector<IpamData> out;
  const json* list = fields.find(name);
  if (list == nullptr) return out;
  if (!list->is_array()) return fields.wrong_type(name, "an array", *list);
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto data = decode_ipam_data((*list)[i], fmt::format("{}[{}]", fields.path(name), i));
    if (!data) return std::move(data).error();
    out.push_back(std::move(*data));
  }
  return out;
}

}  // namespace

// ---- decoders ----

Result<CreateNetworkRequest> decode_create_network(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  CreateNetworkRequest request;
  FERRY_ASSIGN(request.network_id, fields.id("NetworkID"));
  FERRY_ASSIGN(request.options_json, fields.raw_object("Options"));
  if (const json* options = fields.find("Options")) {
    const Fields option_fields(*options, "Options.");
    FERRY_ASSIGN(request.enable_ipv6, option_fields.optional_bool("com.docker.network.enable_ipv6"));
    FERRY_ASSIGN(request.internal, option_fields.optional_bool("com.docker.network.internal"));
    if (const json* generic = option_fields.find("com.docker.network.generic")) {
      if (!generic->is_object()) return option_fields.wrong_type("com.docker.network.generic", "an object", *generic);
      // User -o options are strings; numbers and booleans are taken as their text.
      for (const auto& [key, value] : generic->items()) {
        if (value.is_string()) {
          request.generic_options.emplace(key, value.get<std::string>());
        } else if (value.is_number() || value.is_boolean()) {
          request.generic_options.emplace(key, dump(value));
        } else {
          return make_error("field \"Options.com.docker.network.generic.{}\": expected a string, got {}", key,
                            type_name(value));
        }
      }
    }
  }
  FERRY_ASSIGN(request.ipv4_data, decode_ipam_list(fields, "IPv4Data"));
  FERRY_ASSIGN(request.ipv6_data, decode_ipam_list(fields, "IPv6Data"));
  return request;
}

Result<NetworkRef> decode_network_ref(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  NetworkRef request;
  FERRY_ASSIGN(request.network_id, fields.id("NetworkID"));
  return request;
}

Result<AllocateNetworkRequest> decode_allocate_network(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  AllocateNetworkRequest request;
  FERRY_ASSIGN(request.network_id, fields.id("NetworkID"));
  FERRY_ASSIGN(request.options, fields.string_map("Options"));
  FERRY_ASSIGN(request.ipv4_data, decode_ipam_list(fields, "IPv4Data"));
  FERRY_ASSIGN(request.ipv6_data, decode_ipam_list(fields, "IPv6Data"));
  return request;
}

Result<CreateEndpointRequest> decode_create_endpoint(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  CreateEndpointRequest request;
  FERRY_ASSIGN(request.network_id, fields.id("NetworkID"));
  FERRY_ASSIGN(request.endpoint_id, fields.id("EndpointID"));
  FERRY_ASSIGN(request.options_json, fields.raw_object("Options"));
  if (const json* interface = fields.find("Interface")) {
    if (!interface->is_object()) return fields.wrong_type("Interface", "an object", *interface);
    const Fields interface_fields(*interface, "Interface.");
    FERRY_ASSIGN(request.interface.address, interface_fields.optional_cidr("Address"));
    FERRY_ASSIGN(request.interface.address_ipv6, interface_fields.optional_cidr("AddressIPv6"));
    FERRY_ASSIGN(request.interface.mac_address, interface_fields.optional_mac("MacAddress"));
    if (request.interface.address && request.interface.address->address.family != IpFamily::kV4) {
      return make_error("field \"Interface.Address\": expected an IPv4 address");
    }
    if (request.interface.address_ipv6 && request.interface.address_ipv6->address.family != IpFamily::kV6) {
      return make_error("field \"Interface.AddressIPv6\": expected an IPv6 address");
    }
  }
  return request;
}

Result<EndpointRef> decode_endpoint_ref(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  EndpointRef request;
  FERRY_ASSIGN(request.network_id, fields.id("NetworkID"));
  FERRY_ASSIGN(request.endpoint_id, fields.id("EndpointID"));
  return request;
}

Result<JoinRequest> decode_join(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  JoinRequest request;
  FERRY_ASSIGN(request.network_id, fields.id("NetworkID"));
  FERRY_ASSIGN(request.endpoint_id, fields.id("EndpointID"));
  FERRY_ASSIGN(request.sandbox_key, fields.required_string("SandboxKey"));
  if (request.sandbox_key.empty()) return make_error("field \"SandboxKey\": must not be empty");
  FERRY_ASSIGN(request.options_json, fields.raw_object("Options"));
  return request;
}

Result<ProgramExternalConnectivityRequest> decode_program_external_connectivity(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  ProgramExternalConnectivityRequest request;
  FERRY_ASSIGN(request.network_id, fields.id("NetworkID"));
  FERRY_ASSIGN(request.endpoint_id, fields.id("EndpointID"));
  FERRY_ASSIGN(request.options_json, fields.raw_object("Options"));
  return request;
}

Result<DiscoveryRequest> decode_discovery(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  DiscoveryRequest request;
  const json* type = fields.find("DiscoveryType");
  if (type == nullptr) return make_error("missing field \"DiscoveryType\"");
  if (!type->is_number_integer()) return fields.wrong_type("DiscoveryType", "an integer", *type);
  const auto value = type->get<std::int64_t>();
  if (value < 0 || value > 1000) return make_error("field \"DiscoveryType\": {} is out of range", value);
  request.discovery_type = static_cast<int>(value);
  const json* data = fields.find("DiscoveryData");
  request.data_json = data == nullptr ? std::string("null") : dump(*data);
  return request;
}

Result<RequestPoolRequest> decode_request_pool(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  RequestPoolRequest request;
  FERRY_ASSIGN(request.address_space, fields.required_string("AddressSpace"));
  FERRY_ASSIGN(request.pool, fields.optional_cidr("Pool"));
  FERRY_ASSIGN(request.sub_pool, fields.optional_cidr("SubPool"));
  FERRY_ASSIGN(request.options, fields.string_map("Options"));
  FERRY_ASSIGN(request.v6, fields.optional_bool("V6"));
  if (request.sub_pool && !request.pool) return make_error("field \"SubPool\": given without \"Pool\"");
  if (request.pool) {
    const IpFamily expected = request.v6 ? IpFamily::kV6 : IpFamily::kV4;
    if (request.pool->address.family != expected) {
      return make_error("field \"Pool\": {} is not an {} prefix (V6 is {})", request.pool->to_string(),
                        request.v6 ? "IPv6" : "IPv4", request.v6);
    }
    if (request.sub_pool &&
        (request.sub_pool->length < request.pool->length || !request.pool->contains(request.sub_pool->address))) {
      return make_error("field \"SubPool\": {} is not inside pool {}", request.sub_pool->to_string(),
                        request.pool->to_string());
    }
  }
  return request;
}

Result<PoolRef> decode_release_pool(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  PoolRef request;
  FERRY_ASSIGN(request.pool_id, fields.id("PoolID"));
  return request;
}

Result<RequestAddressRequest> decode_request_address(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  RequestAddressRequest request;
  FERRY_ASSIGN(request.pool_id, fields.id("PoolID"));
  FERRY_ASSIGN(request.address, fields.optional_ip("Address"));
  FERRY_ASSIGN(request.options, fields.string_map("Options"));
  if (const auto it = request.options.find("RequestAddressType"); it != request.options.end()) {
    if (it->second == "com.docker.network.gateway") request.type = AddressRequestType::kGateway;
  }
  if (const auto it = request.options.find("com.docker.network.endpoint.macaddress");
      it != request.options.end() && !it->second.empty()) {
    auto mac = parse_mac(it->second);
    if (!mac) {
      return make_error("field \"Options.com.docker.network.endpoint.macaddress\": invalid MAC address \"{}\"",
                        it->second);
    }
    request.mac_address = *mac;
  }
  return request;
}

Result<ReleaseAddressRequest> decode_release_address(std::string_view body) {
  auto document = parse_object(body);
  if (!document) return std::move(document).error();
  const Fields fields(*document, "");
  ReleaseAddressRequest request;
  FERRY_ASSIGN(request.pool_id, fields.id("PoolID"));
  std::optional<IpAddress> address;
  FERRY_ASSIGN(address, fields.optional_ip("Address"));
  if (!address) return make_error("missing field \"Address\"");
  request.address = *address;
  return request;
}

#undef FERRY_ASSIGN

// ---- encoders ----

namespace {

json to_json(const StringMap& map) {
  json out = json::object();
  for (const auto& [key, value] : map) out[key] = value;
  return out;
}

}  // namespace

std::string encode_activate(bool network_driver, bool ipam_driver) {
  json implements = json::array();
  if (network_driver) implements.push_back("NetworkDriver");
  if (ipam_driver) implements.push_back("IpamDriver");
  return dump(json{{"Implements", implements}});
}

std::string encode_network_capabilities() { return dump(json{{"Scope", "local"}, {"ConnectivityScope", "global"}}); }

std::string encode_ipam_capabilities() { return dump(json{{"RequiresMACAddress", false}}); }

std::string encode_empty() { return "{}"; }

std::string encode_allocate_network(const AllocateNetworkReply& reply) {
  return dump(json{{"Options", to_json(reply.options)}});
}

std::string encode_create_endpoint(const EndpointInterface& requested, const EndpointInterface& settled) {
  json interface = json::object();
  if (settled.address && !requested.address) interface["Address"] = settled.address->to_string();
  if (settled.address_ipv6 && !requested.address_ipv6) interface["AddressIPv6"] = settled.address_ipv6->to_string();
  if (settled.mac_address && !requested.mac_address) interface["MacAddress"] = settled.mac_address->to_string();
  if (interface.empty()) return encode_empty();
  return dump(json{{"Interface", interface}});
}

std::string encode_endpoint_oper_info(const EndpointOperInfoReply& reply) {
  return dump(json{{"Value", to_json(reply.value)}});
}

std::string encode_join(const JoinReply& reply) {
  json out = json::object();
  out["InterfaceName"] = json{{"SrcName", reply.src_name}, {"DstPrefix", reply.dst_prefix}};
  if (reply.gateway) out["Gateway"] = reply.gateway->to_string();
  if (reply.gateway_ipv6) out["GatewayIPv6"] = reply.gateway_ipv6->to_string();
  if (!reply.static_routes.empty()) {
    json routes = json::array();
    for (const StaticRoute& route : reply.static_routes) {
      json item = {{"Destination", route.destination.to_string()}, {"RouteType", static_cast<int>(route.type)}};
      if (route.next_hop) item["NextHop"] = route.next_hop->to_string();
      routes.push_back(std::move(item));
    }
    out["StaticRoutes"] = std::move(routes);
  }
  out["DisableGatewayService"] = reply.disable_gateway_service;
  return dump(out);
}

std::string encode_address_spaces(const AddressSpaces& reply) {
  return dump(
      json{{"LocalDefaultAddressSpace", reply.local_default}, {"GlobalDefaultAddressSpace", reply.global_default}});
}

std::string encode_request_pool(const RequestPoolReply& reply) {
  return dump(json{{"PoolID", reply.pool_id}, {"Pool", reply.pool.to_string()}, {"Data", to_json(reply.data)}});
}

std::string encode_request_address(const RequestAddressReply& reply) {
  return dump(json{{"Address", reply.address.to_string()}, {"Data", to_json(reply.data)}});
}

std::string encode_network_error(std::string_view message) { return dump(json{{"Err", message}}); }

std::string encode_ipam_error(std::string_view message) { return dump(json{{"Err", message}, {"Error", message}}); }

}  // namespace ferry::plugins::docker
