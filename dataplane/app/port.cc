#include "dataplane/app/port.h"

#include <algorithm>

namespace ferry::dataplane::app {

std::vector<std::string> offload_names(const PortOffloads& offloads) {
  std::vector<std::string> names;
  for (const auto& [on, name] :
       {std::pair{offloads.vnet_header, "vnet_hdr"}, std::pair{offloads.rx_gso, "rx_gso"},
        std::pair{offloads.tx_gso, "tx_gso"}, std::pair{offloads.rx_csum_partial, "rx_csum_partial"},
        std::pair{offloads.tx_csum_partial, "tx_csum_partial"}}) {
    if (on) {
      names.emplace_back(name);
    }
  }
  return names;
}

Result<PortId> PortTable::add(std::unique_ptr<Port> port) {
  if (port == nullptr) {
    return make_error("no port to add");
  }
  const PortIo io = port->io();
  if (!io.valid()) {
    return make_error("port {} ({}) has neither an ethdev nor burst functions", port->devname(), port->driver());
  }
  for (std::size_t step = 1; step <= kMaxPorts; ++step) {
    const auto id = static_cast<PortId>((last_ + step) % kMaxPorts);
    if (ports_[id] == nullptr) {
      io_[id] = io;
      ports_[id] = std::move(port);
      last_ = id;
      return id;
    }
  }
  return make_error("no room for another port (at most {})", kMaxPorts);
}

void PortTable::remove(PortId id) {
  if (id >= kMaxPorts) {
    return;
  }
  io_[id] = PortIo{};
  ports_[id].reset();
}

void PortTable::clear() {
  for (std::size_t id = 0; id < kMaxPorts; ++id) {
    remove(static_cast<PortId>(id));
  }
}

std::size_t PortTable::size() const {
  return static_cast<std::size_t>(
      std::count_if(ports_.begin(), ports_.end(), [](const auto& p) { return p != nullptr; }));
}

void PortTable::poll_all() {
  for (auto& port : ports_) {
    if (port != nullptr) {
      port->poll();
    }
  }
}

}  // namespace ferry::dataplane::app
