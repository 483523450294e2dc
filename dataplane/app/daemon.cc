#include "dataplane/app/daemon.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <system_error>

#include "common/log.h"
#include "dataplane/app/api_server.h"
#include "dataplane/app/arp.h"
#include "dataplane/app/ports.h"
#include "dataplane/app/run_loop.h"
#include "dataplane/app/service.h"
#include "dataplane/app/tap_uplink_port.h"
#include "dataplane/app/udp_uplink_port.h"
#include "dataplane/app/vnet_port.h"
#include "dataplane/core/pipeline.h"
#include "dataplane/core/vtep_echo.h"

namespace ferry::dataplane::app {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kApiPoll = std::chrono::milliseconds(10);
constexpr auto kResolveEvery = std::chrono::milliseconds(50);
constexpr auto kReclaimEvery = std::chrono::milliseconds(100);
// af_packet's ring drop counter is 32 bits and resets on read: read often
// enough that it cannot wrap (and so each API read is cheap).
constexpr auto kRingDropsEvery = std::chrono::seconds(1);

std::string random_boot_id() {
  std::random_device rd;
  std::uint64_t hi = (std::uint64_t{rd()} << 32) | rd();
  std::uint64_t lo = (std::uint64_t{rd()} << 32) | rd();
  return fmt::format("{:016x}{:016x}", hi, lo);
}

// EAL makes a runtime directory (RUNTIME_DIRECTORY, else /var/run, then
// dpdk/<file prefix>) even with --no-shconf or --in-memory, where it stays
// empty, and rte_eal_cleanup() leaves it: every start would leave one behind.
// Our prefix is this process's own (no secondary process shares it), so it
// goes with the process; a directory someone filled is left alone.
void remove_eal_runtime_dir(const std::string& dir) {
  if (!dir.empty() && ::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    spdlog::debug("EAL runtime directory {} left: {}", dir, std::generic_category().message(errno));
  }
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) {
        cpus.push_back(cpu);
      }
    }
  }
  return cpus;
}

// The daemon's endpoint-port backend: opens ports of the requested type,
// gives them Ferry PortIds (PortTable) and tells the run loop what to poll.
class EndpointPorts final : public PortBackend {
 public:
  using ExtraCounters = std::function<std::vector<std::pair<std::string, std::uint64_t>>()>;
  EndpointPorts(PortTable& table, PortSetup& setup, RunLoop& loop, Pipeline& pipeline, rte_mempool* pool,
                ExtraCounters uplink_counters, std::unique_ptr<VnetBuffers> vnet_buffers)
      : table_(table),
        setup_(setup),
        pipeline_(pipeline),
        loop_(loop),
        pool_(pool),
        uplink_counters_(std::move(uplink_counters)),
        vnet_buffers_(std::move(vnet_buffers)),
        retired_(VnetPort::counter_template()) {}

  Result<OpenedPort> attach(const std::string& iface, PortDriver driver) override {
    std::unique_ptr<Port> port;
    if (driver == PortDriver::kVnet) {
      auto vnet = open_vnet(iface);
      if (!vnet) {
        return vnet.error();
      }
      port = std::move(*vnet);
    } else {
      auto ethdev = setup_.attach_interface(iface, driver, true);
      if (!ethdev) {
        return ethdev.error();
      }
      port = std::move(*ethdev);
    }
    OpenedPort opened{kInvalidPort, port->devname(), port->driver()};
    const PortTxCaps caps = port->tx_caps();
    auto id = table_.add(std::move(port));  // closes the port on failure
    if (!id) {
      return id.error();
    }
    opened.id = *id;
    // Before the id reaches the workers (the tables, the port list).
    pipeline_.set_port_tx_caps(*id, caps);
    return opened;
  }
  void set_polled(const std::vector<PortId>& ports) override { loop_.set_endpoints(ports); }
  void detach(const OpenedPort& port) override {
    if (const Port* p = table_.get(port.id); p != nullptr) {
      add(retired_, p->type_counters());  // totals never go backwards
    }
    table_.remove(port.id);
    pipeline_.set_port_tx_caps(port.id, 0);
  }
  [[nodiscard]] PortCounters counters(PortId id) const override {
    Port* port = table_.get(id);
    return port != nullptr ? port->counters() : PortCounters{};
  }
  [[nodiscard]] bool link_up(PortId id) const override {
    const Port* port = table_.get(id);
    return port != nullptr && port->link_up();
  }
  [[nodiscard]] PortOffloads offloads(PortId id) const override {
    const Port* port = table_.get(id);
    return port != nullptr ? port->offloads() : PortOffloads{};
  }
  [[nodiscard]] std::vector<NamedCounter> type_counters() const override {
    auto out = retired_;
    for (std::size_t id = 0; id < kMaxPorts; ++id) {
      if (const Port* port = table_.get(static_cast<PortId>(id)); port != nullptr) {
        add(out, port->type_counters());
      }
    }
    return out;
  }
  [[nodiscard]] std::vector<WorkerInfo> workers() const override { return loop_.worker_info(); }
  [[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> extra_counters() const override {
    return uplink_counters_ ? uplink_counters_() : std::vector<std::pair<std::string, std::uint64_t>>{};
  }

 private:
  // Adds `more` into `sum` by name (names not in `sum` are appended).
  static void add(std::vector<NamedCounter>& sum, const std::vector<NamedCounter>& more) {
    for (const auto& c : more) {
      auto it = std::find_if(sum.begin(), sum.end(), [&c](const NamedCounter& s) { return s.name == c.name; });
      if (it == sum.end()) {
        sum.push_back(c);
      } else {
        it->value += c.value;
      }
    }
  }

  Result<std::unique_ptr<VnetPort>> open_vnet(const std::string& iface) {
    if (vnet_buffers_ == nullptr) {
      auto buffers = VnetBuffers::create(pool_, setup_.queues());
      if (!buffers) {
        return buffers.error();
      }
      vnet_buffers_ = std::move(*buffers);
      spdlog::info("vnet receive buffers: {} large buffers of {} bytes ({} MiB) beside the packet pool's heads",
                   vnet_buffers_->large_count(), kVnetLargeBufSize, vnet_buffers_->memory_bytes() >> 20);
    }
    VnetConfig vc;
    vc.queues = setup_.queues();
    vc.max_mtu = setup_.sizes().mtu;
    return VnetPort::open(iface, *vnet_buffers_, vc);
  }

  PortTable& table_;
  PortSetup& setup_;
  Pipeline& pipeline_;
  RunLoop& loop_;
  rte_mempool* pool_;
  ExtraCounters uplink_counters_;              // --uplink-mode udp/tap: the uplink's own counters
  std::unique_ptr<VnetBuffers> vnet_buffers_;  // made with the first vnet port; freed after the workers stopped
  std::vector<NamedCounter> retired_;          // type counters of ports already removed
};

}  // namespace

HugepageState hugepage_state() {
  HugepageState state;
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator("/sys/kernel/mm/hugepages", ec)) {
    std::ifstream in(dir.path() / "free_hugepages");
    std::uint64_t n = 0;
    if (in >> n) {
      state.free_pages += n;
    }
  }
  std::ifstream mounts("/proc/mounts");
  std::string device, mount_point, fs_type, rest;
  while (mounts >> device >> mount_point >> fs_type && std::getline(mounts, rest)) {
    if (fs_type == "hugetlbfs") {
      state.mounted = true;
    }
  }
  return state;
}

Result<void> preflight(const Config& config) {
  if (config.uplink_kind == UplinkKind::kInterface) {
    if (!interface_exists(config.uplink)) {
      return make_error("uplink interface '{}' does not exist in this network namespace", config.uplink);
    }
  } else {
    std::string address = config.uplink.size() == 7 ? "0000:" + config.uplink : config.uplink;
    if (!std::filesystem::exists("/sys/bus/pci/devices/" + address)) {
      return make_error("uplink PCI device {} does not exist", config.uplink);
    }
  }
  if (kernel_uplink(config.uplink_mode)) {
    // Before EAL: the VTEP address is the kernel's, no vxlan device holds
    // the port (read-only; opening the uplink checks again and enables GRO).
    auto host = check_udp_uplink_host(udp_uplink_host_check(config, false));
    if (!host) {
      return host.error();
    }
  } else if (config.uplink_driver == PortDriver::kAfXdp) {
    auto mtu = underlay_mtu(config);
    if (!mtu) {
      return mtu.error();
    }
    if (const std::uint32_t kernel = interface_mtu(config.uplink); std::max(*mtu, kernel) > kAfXdpMaxMtu) {
      return make_error(
          "--uplink-driver af_xdp cannot carry uplink {}'s MTU {} (af_xdp: at most {}, one 4 KiB frame "
          "per packet); use af_packet or auto",
          config.uplink, std::max(*mtu, kernel), kAfXdpMaxMtu);
    }
  }
  if (auto freed = wait_for_api_path(config.api_path, std::chrono::seconds(config.api_wait_s)); !freed) {
    return freed.error();
  }
  if (auto access = api_access(config); !access) {
    return access.error();
  }
  if (!config.no_huge) {
    const auto huge = hugepage_state();
    if (huge.free_pages == 0) {
      return make_error(
          "no free hugepages: reserve some (echo 512 > /proc/sys/vm/nr_hugepages; mount -t hugetlbfs nodev "
          "/dev/hugepages) or run with --no-huge (af_packet ports)");
    }
    if (!huge.mounted) {
      return make_error("hugetlbfs is not mounted: mount -t hugetlbfs nodev /dev/hugepages, or run with --no-huge");
    }
  }
  return ok();
}

// Starts DPDK's EAL with the arguments the configuration asks for; when it
// fails, the runtime directory it may have made is removed again.
Result<void> init_eal(const Config& cfg) {
  const auto args = eal_arguments(cfg, getpid(), allowed_cpus());
  std::string joined;
  for (const auto& arg : args) {
    joined += (joined.empty() ? "" : " ") + arg;
  }
  spdlog::info("EAL arguments: {}", joined);
  std::vector<char*> argv;
  std::vector<std::string> storage(args);  // rte_eal_init may permute argv
  argv.reserve(storage.size() + 1);
  for (auto& arg : storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(argv.size() - 1), argv.data()) < 0) {
    const int err = rte_errno;
    remove_eal_runtime_dir(rte_eal_get_runtime_dir());
    return make_error("DPDK EAL initialisation failed: {}{}", rte_strerror(err),
                      cfg.no_huge ? "" : " (no hugepages? try --no-huge, or reserve and mount hugepages)");
  }
  return {};
}

struct Daemon::Impl {
  Config config;
  bool eal_up = false;
  std::string eal_runtime_dir;  // removed after rte_eal_cleanup()
  rte_mempool* pool = nullptr;
  std::unique_ptr<PortSetup> setup;
  PortTable ports;  // every port, the uplink included, by Ferry PortId
  OpenedPort uplink;
  MacAddr uplink_mac;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<RunLoop> loop;
  std::unique_ptr<EndpointPorts> backend;
  const UdpUplinkPort* udp_uplink = nullptr;  // --uplink-mode udp: the uplink port (owned by `ports`)
  const TapUplinkPort* tap_uplink = nullptr;  // --uplink-mode tap: the uplink port (owned by `ports`)
  std::unique_ptr<UnderlayResolver> resolver;
  std::unique_ptr<VtepEcho> echo;  // VTEP liveness (vtep_echo.h)
  std::unique_ptr<Service> service;
  std::unique_ptr<ApiServer> api;
  log::RateLimiter inject_warnings{1.0, 5.0};

  ~Impl() {
    api.reset();  // stop answering first; removes the socket file
    if (service) {
      service->detach_all();
    }
    if (loop) {
      loop->stop();
    }
    service.reset();
    backend.reset();
    loop.reset();
    ports.clear();  // the uplink (workers stopped)
    pipeline.reset();
    if (eal_up) {
      rte_eal_cleanup();
      remove_eal_runtime_dir(eal_runtime_dir);
    }
  }

  // Opens the uplink the configuration asks for: the tap uplink (falling
  // back to the kernel-UDP one where the kernel lacks tunnel GSO on taps,
  // and then `config` says udp), the kernel-UDP uplink, or a DPDK port. The
  // tap uplink's receive buffers go to `vnet_buffers`.
  Result<std::unique_ptr<Port>> open_uplink(std::uint16_t workers, std::uint32_t mtu,
                                            std::unique_ptr<VnetBuffers>& vnet_buffers) {
    std::unique_ptr<Port> opened;
    if (config.uplink_mode == UplinkMode::kTap) {
      auto buffers = VnetBuffers::create(pool, workers);
      if (!buffers) {
        return buffers.error();
      }
      vnet_buffers = std::move(*buffers);
      auto tap = TapUplinkPort::open(config, pool, workers, mtu, *vnet_buffers);
      if (tap) {
        tap_uplink = tap->get();
        opened = std::move(*tap);
      } else if (tap.error().sys_errno == EOPNOTSUPP) {
        spdlog::warn("--uplink-mode tap: {}; using the kernel-UDP uplink (--uplink-mode udp) instead",
                     tap.error().message);
        config.uplink_mode = UplinkMode::kUdp;
        vnet_buffers.reset();
      } else {
        return tap.error().wrap("--uplink-mode tap");
      }
    }
    if (config.uplink_mode == UplinkMode::kUdp) {
      auto udp = UdpUplinkPort::open(config, pool, workers, mtu);
      if (!udp) {
        return udp.error();
      }
      udp_uplink = udp->get();
      opened = std::move(*udp);
    } else if (!opened) {
      auto ethdev = setup->open_uplink(config);
      if (!ethdev) {
        return ethdev.error();
      }
      opened = std::move(*ethdev);
    }
    return opened;
  }

  // The control side once the ports run: underlay resolution, VTEP echo,
  // the service and its API socket.
  Result<void> start_control(std::uint32_t mtu, std::size_t workers) {
    UnderlayResolver::Params params;
    params.local = config.vtep;
    params.gateway = config.gateway;
    params.reachable = std::chrono::seconds(config.arp_timeout_s);
    resolver = std::make_unique<UnderlayResolver>(params);
    VtepEchoConfig echo_config;
    echo_config.interval = std::chrono::milliseconds(config.vtep_echo_ms);
    echo_config.vni = config.vtep_echo_vni;
    if (auto valid = echo_config.validate(); !valid) {
      return valid.error();
    }
    echo = std::make_unique<VtepEcho>(echo_config,
                                      EchoIdentity{Ipv4Addr{config.vtep.addr.value}, uplink_mac, config.vxlan_port});

    Identity identity;
    identity.boot_id = random_boot_id();
    identity.start_time_unix_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    identity.started = Clock::now();
    identity.uplink = uplink;
    identity.underlay_mtu = mtu;
    service = std::make_unique<Service>(config, *pipeline, *backend, *resolver, identity);
    service->set_frame_sender(
        [this](std::span<const std::uint8_t> frame, PortId port) { return queue_frame(frame, port); });

    auto access = api_access(config);
    if (!access) {
      return access.error();
    }
    auto bound = ApiServer::bind(config.api_path, *access, dp_api::kMaxApiMessageBytes);
    if (!bound) {
      return bound.error();
    }
    api = std::move(*bound);
    service->set_cut_connections([server = api.get()] { return server->cut_connections(); });
    service->set_unframed_messages([server = api.get()] { return server->unframed_messages(); });
    service->set_vtep_status([this] { return vtep_status(); });
    spdlog::info("ready: VTEP {}, {} worker(s), API {}, boot id {}", dp_api::format_ipv4_prefix(config.vtep), workers,
                 config.api_endpoint, identity.boot_id);
    return {};
  }

  // Queues a frame the control thread built for `port` (the workers send
  // it); false when there is no buffer or the ring is full.
  bool queue_frame(std::span<const std::uint8_t> frame, PortId port) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
      return false;
    }
    auto* data = rte_pktmbuf_mtod(m, std::uint8_t*);
    std::memcpy(data, frame.data(), frame.size());
    m->data_len = static_cast<std::uint16_t>(frame.size());
    m->pkt_len = static_cast<std::uint32_t>(frame.size());
    if (!pipeline->inject(m, port)) {
      rte_pktmbuf_free(m);
      if (inject_warnings.allow(Clock::now())) {
        spdlog::warn("injection ring full: a frame the data plane built was dropped");
      }
      return false;
    }
    return true;
  }

  void send_frame(std::span<const std::uint8_t, kArpFrameSize> frame) { queue_frame(frame, uplink.id); }

  // ARP for our VTEP IP (requests to answer, replies to our probes), and
  // VTEP echo frames (IPv4: the management VNI).
  void drain_slow_path() {
    void* objs[32];
    const auto dp_vtep = config.vtep.addr;
    const MacAddress our_mac{uplink_mac.bytes};
    for (;;) {
      const unsigned n = rte_ring_dequeue_burst(pipeline->slow_path_rx(), objs, 32, nullptr);
      for (unsigned i = 0; i < n; ++i) {
        auto* m = static_cast<rte_mbuf*>(objs[i]);
        const std::span<const std::uint8_t> bytes{rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m)};
        if (bytes.size() >= 14 && bytes[12] == 0x08 && bytes[13] == 0x00) {
          const auto reply = echo->on_frame(bytes, Clock::now());
          rte_pktmbuf_free(m);
          if (reply && !queue_frame(*reply, uplink.id)) {
            echo->not_sent();
          }
          continue;
        }
        const auto arp = parse_arp(bytes);
        rte_pktmbuf_free(m);
        if (!arp) {
          continue;
        }
        resolver->on_arp(arp->sender_ip, arp->sender_mac, Clock::now());
        if (arp->op == kArpRequest && arp->target_ip == dp_vtep && !arp->sender_mac.is_multicast()) {
          std::array<std::uint8_t, kArpFrameSize> frame{};
          build_arp_reply(frame, our_mac, dp_vtep, *arp);
          send_frame(frame);
        }
      }
      if (n < 32) {
        return;
      }
    }
  }

  // --uplink-mode udp: the kernel resolves the underlay, so every VTEP the
  // tables reference counts as resolved (its "next hop" is our own MAC: the
  // outer Ethernet header is never sent).
  void mark_vteps_resolved() {
    for (const auto& v : pipeline->tables().vteps()) {
      if (!v.resolved) {
        if (auto r = pipeline->tables().set_vtep_next_hop(v.ip, uplink_mac); !r) {
          spdlog::warn("VTEP {}: {}", v.ip.to_string(), r.error().message);
        }
      }
    }
  }

  // The VTEP echo: targets follow the tables' VTEPs (after resolve());
  // requests due now are queued.
  void probe_vteps() {
    std::vector<EchoTarget> targets;
    for (const auto& v : pipeline->tables().vteps()) {
      targets.push_back({v.ip, v.resolved ? std::optional<MacAddr>(v.next_hop) : std::nullopt});
    }
    echo->set_targets(targets);
    for (const auto& frame : echo->due(Clock::now())) {
      if (!queue_frame(frame, uplink.id)) {
        echo->not_sent();
      }
    }
  }

  [[nodiscard]] dp_api::VtepStatus vtep_status() const {
    dp_api::VtepStatus out;
    out.interval_ms = static_cast<std::uint32_t>(echo->config().interval.count());
    out.echo_vni = echo->config().vni;
    out.alive_intervals = echo->config().alive_intervals;
    for (const auto& p : echo->status(Clock::now())) {
      dp_api::VtepEchoEntry e;
      e.vtep = dp_api::Ipv4{p.ip.value};
      e.resolved = p.resolved;
      e.requests_sent = p.requests_sent;
      e.replies = p.replies;
      e.requests_answered = p.requests_answered;
      e.last_reply_ms = p.last_reply_ms;
      e.last_request_ms = p.last_request_ms;
      e.rtt_us = p.rtt_us;
      e.alive = p.alive;
      out.vteps.push_back(e);
    }
    for (std::size_t i = 0; i < kEchoCounterCount; ++i) {
      out.counters[std::string(kEchoCounterInfo[i].name)] = echo->counter(static_cast<EchoCounter>(i));
    }
    return out;
  }

  // Keeps every referenced VTEP's next hop resolved and programmed.
  void resolve() {
    if (kernel_uplink(config.uplink_mode)) {
      mark_vteps_resolved();
      return;
    }
    const auto now = Clock::now();
    const auto vteps = pipeline->tables().vteps();
    std::vector<dp_api::Ipv4> ips;
    ips.reserve(vteps.size());
    for (const auto& v : vteps) {
      ips.push_back(dp_api::Ipv4{v.ip.value});
    }
    resolver->set_vteps(ips);
    const MacAddress our_mac{uplink_mac.bytes};
    for (const auto target : resolver->due_probes(now)) {
      std::array<std::uint8_t, kArpFrameSize> frame{};
      build_arp_request(frame, our_mac, config.vtep.addr, target);
      send_frame(frame);
    }
    for (const auto& v : vteps) {
      const auto mac = resolver->resolved_mac(dp_api::Ipv4{v.ip.value}, now);
      if (mac && (!v.resolved || v.next_hop.bytes != mac->bytes)) {
        if (auto r = pipeline->tables().set_vtep_next_hop(v.ip, MacAddr{mac->bytes}); !r) {
          spdlog::warn("VTEP {}: {}", v.ip.to_string(), r.error().message);
        } else {
          spdlog::info("VTEP {} reachable via {}", v.ip.to_string(), mac->to_string());
        }
      } else if (!mac && v.resolved) {
        (void)pipeline->tables().clear_vtep_next_hop(v.ip);
        spdlog::info("VTEP {}: next hop expired, resolving again", v.ip.to_string());
      }
    }
  }
};

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::start(const Config& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  if (impl->config.uplink_mode == UplinkMode::kAuto) {
    impl->config.uplink_mode = resolve_uplink_mode(impl->config.uplink_mode, tap_uplink_supported());
  }
  if (auto checked = preflight(impl->config); !checked) {
    return checked.error();
  }
  const Config& cfg = impl->config;

  if (auto eal = init_eal(cfg); !eal) {
    return eal.error();
  }
  impl->eal_up = true;
  impl->eal_runtime_dir = rte_eal_get_runtime_dir();

  std::vector<unsigned> workers;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) { workers.push_back(lcore); }
  if (workers.empty()) {
    return make_error("--lcores must name at least two lcores: the first runs the control thread, the others workers");
  }

  // Buffers are sized for the largest frame that can arrive (the interface's
  // MTU); the pipeline drops what would not fit the underlay MTU we use.
  auto mtu = underlay_mtu(cfg);
  if (!mtu) {
    return mtu.error();
  }
  const std::uint32_t buffer_mtu =
      cfg.uplink_kind == UplinkKind::kInterface ? std::max(*mtu, interface_mtu(cfg.uplink)) : *mtu;
  const FrameSizes sizes = frame_sizes(buffer_mtu);
  if (!sizes.af_xdp_capable && impl->config.endpoint_driver == PortDriver::kAfXdp) {
    spdlog::info("endpoint ports use af_packet: MTU {} is above af_xdp's {}", buffer_mtu, kAfXdpMaxMtu);
    impl->config.endpoint_driver = PortDriver::kAfPacket;
  }
  auto pool = create_packet_pool(cfg, sizes);
  if (!pool) {
    return pool.error();
  }
  impl->pool = *pool;
  spdlog::info("packet pool: {} mbufs of {} bytes; af_packet slots {} bytes, {} per queue and direction",
               rte_mempool_avail_count(impl->pool), sizes.mbuf_data_room, sizes.af_packet_frame_size,
               sizes.af_packet_frame_count);
  impl->setup = std::make_unique<PortSetup>(impl->pool, static_cast<std::uint16_t>(workers.size()), sizes);
  std::unique_ptr<VnetBuffers> vnet_buffers;  // the tap uplink's receive buffers, shared with vnet endpoints
  auto opened = impl->open_uplink(static_cast<std::uint16_t>(workers.size()), *mtu, vnet_buffers);
  if (!opened) {
    return opened.error();
  }
  impl->uplink_mac = (*opened)->mac();
  impl->uplink.devname = (*opened)->devname();
  impl->uplink.driver = (*opened)->driver();
  auto uplink_id = impl->ports.add(std::move(*opened));
  if (!uplink_id) {
    return uplink_id.error().wrap("uplink " + cfg.uplink);
  }
  impl->uplink.id = *uplink_id;
  const OpenedPort* uplink = &impl->uplink;
  spdlog::info("uplink {}: port {} ({}) on {}, MAC {}, MTU {} (endpoints {})", cfg.uplink, uplink->id, uplink->driver,
               uplink->devname, impl->uplink_mac.to_string(), *mtu, *mtu - kEncapHeaderSize);

  PipelineConfig pc;
  pc.underlay.vtep_ip = Ipv4Addr{cfg.vtep.addr.value};
  pc.underlay.uplink_mac = impl->uplink_mac;
  pc.underlay.udp_port = cfg.vxlan_port;
  pc.uplink_port = uplink->id;
  pc.underlay_mtu = *mtu;
  pc.tables.max_workers = static_cast<std::uint32_t>(workers.size());
  pc.tables.name = fmt::format("ferry{}", getpid());
  pc.echo_vni = cfg.vtep_echo_vni;
  auto pipeline = Pipeline::create(pc);
  if (!pipeline) {
    return pipeline.error().wrap("pipeline");
  }
  impl->pipeline = std::move(*pipeline);
  impl->pipeline->set_port_tx_caps(uplink->id, impl->ports.get(uplink->id)->tx_caps());

  RunLoop::Params rp;
  rp.uplink = uplink->id;
  rp.uplink_rx_queues = static_cast<std::uint16_t>(workers.size());
  rp.idle_sleep_us = cfg.idle_sleep_us;
  rp.idle_spin_us = cfg.idle_spin_us;
  impl->loop = std::make_unique<RunLoop>(*impl->pipeline, impl->ports, rp);
  if (auto started = impl->loop->start(workers, impl->pool); !started) {
    return started.error();
  }
  EndpointPorts::ExtraCounters uplink_counters;
  if (impl->tap_uplink != nullptr) {
    uplink_counters = [port = impl->tap_uplink] { return port->named_counters(); };
  } else if (impl->udp_uplink != nullptr) {
    uplink_counters = [port = impl->udp_uplink] { return port->named_counters(); };
  }
  impl->backend = std::make_unique<EndpointPorts>(impl->ports, *impl->setup, *impl->loop, *impl->pipeline, impl->pool,
                                                  std::move(uplink_counters), std::move(vnet_buffers));

  if (auto control = impl->start_control(*mtu, workers.size()); !control) {
    return control.error();
  }
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

int Daemon::run(const std::atomic<bool>& stop) {
  Impl& d = *impl_;
  auto next_resolve = Clock::now();
  auto next_reclaim = Clock::now() + kReclaimEvery;
  auto next_ring_drops = Clock::now() + kRingDropsEvery;
  const bool udp = kernel_uplink(d.config.uplink_mode);
  const auto handler = [&d, udp](std::span<const std::uint8_t> bytes) {
    auto reply = d.service->handle_bytes(bytes);
    if (udp) {
      d.mark_vteps_resolved();  // a VTEP an fdb/flood add just made is usable at once
    }
    return reply;
  };
  while (!stop.load()) {
    auto served = d.api->serve(kApiPoll, handler);
    if (!served) {
      spdlog::error("API: {}", served.error().message);
      return 1;
    }
    d.drain_slow_path();
    const auto now = Clock::now();
    if (now >= next_resolve) {
      d.resolve();
      d.probe_vteps();
      next_resolve = now + kResolveEvery;
    }
    if (now >= next_reclaim) {
      d.pipeline->tables().reclaim();
      next_reclaim = now + kReclaimEvery;
    }
    if (now >= next_ring_drops) {
      d.ports.poll_all();
      next_ring_drops = now + kRingDropsEvery;
    }
  }
  spdlog::info("stopping");
  return 0;
}

}  // namespace ferry::dataplane::app
