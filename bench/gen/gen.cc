// ferry-bench gen: the DPDK traffic generator and receiver.
//
// Lcores: TX and RX each own a state struct (no sharing on the packet path;
// the few cross-lcore facts are relaxed atomics). With three or more lcores
// TX and RX run on workers and the main lcore only supervises; with two, TX
// runs on the worker and RX on the main lcore; with one, the main lcore
// interleaves a TX burst and an RX burst.
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "bench/command.h"
#include "bench/gen/config.h"
#include "bench/gen/frame.h"
#include "bench/gen/histogram.h"
#include "bench/gen/pacer.h"
#include "bench/gen/port.h"
#include "bench/gen/report.h"
#include "bench/gen/seq_tracker.h"

namespace ferry::bench::gen {

namespace {

constexpr std::uint32_t kMaxBurst = 256;

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int /*signal*/) { g_stop.store(true, std::memory_order_relaxed); }

bool stopping() { return g_stop.load(std::memory_order_relaxed); }

// A counter one lcore writes and another may read for progress lines.
struct LiveCounter {
  std::atomic<std::uint64_t> value{0};
  void set(std::uint64_t v) { value.store(v, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

struct alignas(RTE_CACHE_LINE_SIZE) TxState {
  TxState(const FrameTemplate& t, std::uint64_t hz, const GenConfig& c)
      : frame(t),
        pacer(hz, c.rate_pps, c.burst, std::max<std::uint64_t>(c.burst * 4ULL, c.rate_pps / 1000)),
        flow(c.frame.flows) {}

  std::uint16_t port = 0;
  rte_mempool* pool = nullptr;
  const FrameTemplate& frame;
  Pacer pacer;
  FlowCursor flow;
  std::uint32_t burst = 32;
  std::uint32_t frame_size = 64;
  std::uint64_t count_limit = 0;  // 0: none
  std::uint64_t end_tsc = 0;      // 0: none
  std::uint64_t flush_grace = 0;  // cycles to keep retrying pending frames after the end
  bool yield_when_idle = true;

  std::uint32_t seq = 0;
  std::uint64_t built = 0;
  rte_mbuf* pending[kMaxBurst] = {};
  std::uint32_t pending_head = 0;
  std::uint32_t pending_count = 0;
  bool sending = true;  // still building new frames
  std::uint64_t first_tsc = 0;
  std::uint64_t last_tsc = 0;
  TxStats stats;

  LiveCounter live_packets;
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> done_tsc{0};
  std::atomic<std::uint64_t> sent_at_done{0};
};

struct alignas(RTE_CACHE_LINE_SIZE) RxState {
  std::uint16_t port = 0;
  std::uint32_t burst = 32;
  std::uint16_t vxlan_port = 4789;
  int stream_filter = -1;  // txrx: only our own stream counts as ours
  bool yield_when_idle = true;
  std::uint64_t drain_cycles = 0;
  std::uint64_t deadline_tsc = 0;  // rx alone: the longest it listens
  bool idle_stop = false;          // rx alone: stop after drain_cycles without frames of ours
  const TxState* tx = nullptr;     // txrx: stop once TX is done and everything arrived or drain passed

  std::uint64_t first_tsc = 0;
  std::uint64_t last_tsc = 0;
  RxStats stats;
  StreamTable streams;
  Histogram latency;

  LiveCounter live_packets;
  std::atomic<bool> done{false};
};

void account_sent(TxState& s, std::uint32_t sent, std::uint64_t now) {
  if (sent == 0) return;
  if (s.stats.packets == 0) s.first_tsc = now;
  s.last_tsc = now;
  s.stats.packets += sent;
  s.stats.bytes += static_cast<std::uint64_t>(sent) * s.frame_size;
  s.live_packets.set(s.stats.packets);
}

void finish_tx(TxState& s, std::uint64_t now) {
  if (s.pending_count > 0) rte_pktmbuf_free_bulk(s.pending + s.pending_head, s.pending_count);
  s.pending_count = 0;
  s.stats.schedule_skipped = s.pacer.skipped();
  s.sent_at_done.store(s.stats.packets, std::memory_order_relaxed);
  s.done_tsc.store(now, std::memory_order_relaxed);
  s.done.store(true, std::memory_order_release);
}

// One TX step: retry what the port refused, else build and send a burst.
// False once TX is finished.
bool tx_step(TxState& s, std::uint64_t now) {
  // The end is decided first: a port that stops taking frames must not keep
  // TX retrying forever.
  if (s.sending &&
      (stopping() || (s.end_tsc != 0 && now >= s.end_tsc) || (s.count_limit != 0 && s.built >= s.count_limit))) {
    s.sending = false;
    if (s.end_tsc == 0 || now < s.end_tsc) s.end_tsc = now;
  }
  if (s.pending_count > 0) {
    const std::uint16_t sent =
        rte_eth_tx_burst(s.port, 0, s.pending + s.pending_head, static_cast<std::uint16_t>(s.pending_count));
    account_sent(s, sent, now);
    s.pending_head += sent;
    s.pending_count -= sent;
    if (s.pending_count > 0) {
      ++s.stats.ring_full;
      if (stopping() || (!s.sending && now >= s.end_tsc + s.flush_grace)) {
        finish_tx(s, now);
        return false;
      }
      return true;
    }
    s.pending_head = 0;
  }
  if (!s.sending) {
    finish_tx(s, now);
    return false;
  }

  std::uint32_t n = s.pacer.due(now);
  if (s.count_limit != 0) n = static_cast<std::uint32_t>(std::min<std::uint64_t>(n, s.count_limit - s.built));
  if (n == 0) {
    if (s.yield_when_idle) sched_yield();  // let ksoftirqd & co. run between paced bursts
    return true;
  }
  rte_mbuf* mbufs[kMaxBurst];
  if (unlikely(rte_pktmbuf_alloc_bulk(s.pool, mbufs, n) != 0)) {
    ++s.stats.alloc_failures;
    return true;
  }
  const std::uint32_t l2_size = s.frame.size();
  for (std::uint32_t i = 0; i < n; ++i) {
    rte_mbuf* m = mbufs[i];
    m->data_len = static_cast<std::uint16_t>(l2_size);
    m->pkt_len = l2_size;
    s.frame.patch(rte_pktmbuf_mtod(m, std::uint8_t*), s.flow, s.seq++, now);
    s.flow.next();
  }
  s.pacer.sent(n);
  s.built += n;
  const std::uint16_t sent = rte_eth_tx_burst(s.port, 0, mbufs, static_cast<std::uint16_t>(n));
  account_sent(s, sent, now);
  if (sent < n) {
    ++s.stats.ring_full;
    s.pending_count = n - sent;
    s.pending_head = 0;
    std::copy(mbufs + sent, mbufs + n, s.pending);
  }
  return true;
}

// One RX burst: classify, count, sequence, latency. Returns frames received.
std::uint16_t rx_step(RxState& s) {
  rte_mbuf* mbufs[kMaxBurst];
  const std::uint16_t n = rte_eth_rx_burst(s.port, 0, mbufs, static_cast<std::uint16_t>(s.burst));
  if (n == 0) {
    if (s.yield_when_idle) sched_yield();
    return 0;
  }
  const std::uint64_t now = rte_rdtsc();
  std::uint64_t ours = 0;
  for (std::uint16_t i = 0; i < n; ++i) {
    if (i + 3 < n) rte_prefetch0(rte_pktmbuf_mtod(mbufs[i + 3], void*));
    const rte_mbuf* m = mbufs[i];
    ParsedFrame parsed;
    if (!parse_frame(rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len, s.vxlan_port, &parsed) ||
        parsed.stamp.stream >= kMaxStreams || (s.stream_filter >= 0 && parsed.stamp.stream != s.stream_filter)) {
      ++s.stats.foreign;
      continue;
    }
    ++ours;
    s.stats.bytes += m->pkt_len + kFcsSize;
    s.stats.encapsulated += parsed.encapsulated ? 1 : 0;
    s.streams.record(parsed.stamp.stream, parsed.stamp.seq);
    if (likely(parsed.stamp.tsc <= now)) {
      s.latency.record(now - parsed.stamp.tsc);
    } else {
      ++s.stats.bad_timestamps;
    }
  }
  rte_pktmbuf_free_bulk(mbufs, n);
  if (ours > 0) {
    if (s.stats.packets == 0) s.first_tsc = now;
    s.last_tsc = now;
    s.stats.packets += ours;
    s.live_packets.set(s.stats.packets);
  }
  return n;
}

bool rx_finished(const RxState& s, std::uint64_t now) {
  if (stopping()) return true;
  if (s.tx != nullptr) {
    if (!s.tx->done.load(std::memory_order_acquire)) return false;
    const SeqCounters& c = s.streams.stream(static_cast<std::uint16_t>(s.stream_filter)).counters();
    if (c.received - c.duplicates >= s.tx->sent_at_done.load(std::memory_order_relaxed)) return true;
    return now >= s.tx->done_tsc.load(std::memory_order_relaxed) + s.drain_cycles;
  }
  if (now >= s.deadline_tsc) return true;
  return s.idle_stop && s.stats.packets > 0 && now >= s.last_tsc + s.drain_cycles;
}

int tx_lcore(void* arg) {
  auto& s = *static_cast<TxState*>(arg);
  while (tx_step(s, rte_rdtsc())) {
  }
  return 0;
}

int rx_lcore(void* arg) {
  auto& s = *static_cast<RxState*>(arg);
  // The end is checked after every burst, not only after empty ones: a
  // stream of foreign frames must not keep the receiver alive.
  for (;;) {
    rx_step(s);
    if (rx_finished(s, rte_rdtsc())) break;
  }
  s.done.store(true, std::memory_order_release);
  return 0;
}

// Progress lines on stderr, printed by whichever loop runs on the main lcore.
struct Progress {
  std::uint64_t interval = 0;  // cycles; 0: off
  std::uint64_t next = 0;
  std::uint64_t start = 0;
  std::uint64_t hz = 1;
  std::uint64_t last_tx = 0;
  std::uint64_t last_rx = 0;
  std::uint64_t last_tsc = 0;
  const TxState* tx = nullptr;
  const RxState* rx = nullptr;

  void tick(std::uint64_t now) {
    if (interval == 0 || now < next) return;
    const double dt = static_cast<double>(now - last_tsc) / static_cast<double>(hz);
    const std::uint64_t tx_now = tx != nullptr ? tx->live_packets.get() : 0;
    const std::uint64_t rx_now = rx != nullptr ? rx->live_packets.get() : 0;
    std::fprintf(stderr, "[%7.1f s] tx %12.0f pps  rx %12.0f pps  (tx %llu, rx %llu)\n",
                 static_cast<double>(now - start) / static_cast<double>(hz), static_cast<double>(tx_now - last_tx) / dt,
                 static_cast<double>(rx_now - last_rx) / dt, static_cast<unsigned long long>(tx_now),
                 static_cast<unsigned long long>(rx_now));
    last_tx = tx_now;
    last_rx = rx_now;
    last_tsc = now;
    next = now + interval;
  }
};

struct EalSession {
  bool initialised = false;
  bool own_runtime_dir = false;  // the --file-prefix was ours: remove what EAL leaves in /var/run/dpdk
  std::vector<std::uint16_t> ports;
  ~EalSession() {
    for (std::uint16_t p : ports) stop_port(p);
    if (!initialised) return;
    const std::string runtime_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    // DPDK 22.11 leaves its runtime directory (megabytes of tmpfs with
    // --no-huge) behind; ours has a per-process name, so nobody else uses it.
    if (own_runtime_dir && runtime_dir.find("/ferry-gen-") != std::string::npos) {
      std::error_code ignored;
      std::filesystem::remove_all(runtime_dir, ignored);
    }
  }
};

Result<void> init_eal(const std::vector<std::string>& args) {
  std::vector<std::string> storage = args;
  std::vector<char*> argv;
  argv.reserve(storage.size() + 1);
  for (auto& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // Logs go to stderr so --json output on stdout stays clean.
  rte_openlog_stream(stderr);
  if (rte_eal_init(static_cast<int>(storage.size()), argv.data()) < 0) {
    const int err = rte_errno;
    std::string hint;
    if (err == EACCES || err == ENOMEM) {
      hint =
          "; no hugepages? reserve them (scripts/setup-hugepages: 512 x 2 MiB, hugetlbfs on /dev/hugepages) or "
          "run without: -- --no-huge -m 512";
    } else if (err == EALREADY) {
      hint = "; another DPDK process uses the same --file-prefix";
    }
    std::string joined;
    for (std::size_t i = 1; i < args.size(); ++i) joined += (i > 1 ? " " : "") + args[i];
    return make_error("DPDK EAL init failed: {}{} (EAL arguments: {})", rte_strerror(err), hint, joined);
  }
  return ok();
}

std::string default_rx_port(const GenConfig& c) {
  if (!c.pmd.empty()) return rx_vdev_name(c);
  if (!c.rx_port.empty()) return c.rx_port;
  return c.mode == Mode::kTxRx && port_count() > 1 ? "1" : "0";
}

std::string default_tx_port(const GenConfig& c) {
  if (!c.pmd.empty()) return tx_vdev_name(c);
  return c.tx_port.empty() ? "0" : c.tx_port;
}

int fail(const Error& error) {
  std::fprintf(stderr, "ferry-bench gen: %s\n", error.message.c_str());
  return 1;
}

int run(const CommandLine& line) {
  GenConfig config = line.config;
  EalSession eal;
  if (auto r = init_eal(eal_arguments(config, line.user_eal_args, static_cast<int>(getpid()))); !r) {
    return fail(r.error());
  }
  eal.initialised = true;
  eal.own_runtime_dir = std::none_of(line.user_eal_args.begin(), line.user_eal_args.end(),
                                     [](const std::string& a) { return a.rfind("--file-prefix", 0) == 0; });

  struct sigaction action {};
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills at once
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  const std::uint64_t hz = rte_get_tsc_hz();
  std::uint16_t tx_port = 0;
  std::uint16_t rx_port = 0;
  if (config.sends()) {
    auto p = find_port(default_tx_port(config));
    if (!p) return fail(p.error().wrap("TX"));
    tx_port = *p;
  }
  if (config.receives()) {
    auto p = find_port(default_rx_port(config));
    if (!p) return fail(p.error().wrap("RX"));
    rx_port = *p;
  }
  const bool same_port = config.mode == Mode::kTxRx && tx_port == rx_port;
  if (config.sends() && !config.src_mac_given) config.frame.src_mac = port_mac(tx_port);
  if (config.mode == Mode::kTxRx && !config.dst_mac_given) config.frame.dst_mac = port_mac(rx_port);

  auto frame = FrameTemplate::build(config.frame);
  if (!frame) return fail(frame.error());

  // Pools and ports. Every port gets an RX queue (some PMDs insist); the
  // TX port's RX queue is not polled.
  const std::uint32_t l2_max = config.frame.frame_size;
  rte_mempool* tx_pool = nullptr;
  if (config.sends()) {
    auto pool = create_tx_pool("gen_tx", config.tx_pool_size, *frame, port_socket(tx_port));
    if (!pool) return fail(pool.error());
    tx_pool = *pool;
    auto rx_pool = create_rx_pool("gen_tx_rx", same_port ? config.rx_pool_size : 2U * config.rx_desc + 512U, l2_max,
                                  port_socket(tx_port));
    if (!rx_pool) return fail(rx_pool.error());
    if (auto r = start_port({tx_port, config.rx_desc, config.tx_desc, *rx_pool, l2_max}); !r) return fail(r.error());
    eal.ports.push_back(tx_port);
  }
  if (config.receives() && !same_port) {
    auto rx_pool = create_rx_pool("gen_rx", config.rx_pool_size, l2_max, port_socket(rx_port));
    if (!rx_pool) return fail(rx_pool.error());
    if (auto r = start_port({rx_port, config.rx_desc, config.tx_desc, *rx_pool, l2_max}); !r) return fail(r.error());
    eal.ports.push_back(rx_port);
  }

  auto tx = std::make_unique<TxState>(*frame, hz, config);
  tx->port = tx_port;
  tx->pool = tx_pool;
  tx->burst = config.burst;
  tx->frame_size = config.frame.frame_size;
  tx->count_limit = config.count;
  tx->flush_grace = hz / 10;
  tx->yield_when_idle = !config.busy_poll;
  auto rx = std::make_unique<RxState>();
  rx->port = rx_port;
  rx->burst = config.burst;
  rx->yield_when_idle = !config.busy_poll;
  rx->vxlan_port = config.frame.vxlan_port;
  rx->drain_cycles = static_cast<std::uint64_t>(config.drain_s * static_cast<double>(hz));
  if (config.mode == Mode::kTxRx) {
    rx->tx = tx.get();
    rx->stream_filter = config.frame.stream;
  }
  rx->idle_stop = config.mode == Mode::kRx && config.drain_s > 0.0;

  std::vector<unsigned> workers;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) { workers.push_back(lcore); }
  bool main_tx = config.sends();
  bool main_rx = config.receives();

  const std::uint64_t start = rte_rdtsc();
  const auto duration = static_cast<std::uint64_t>(config.duration_s * static_cast<double>(hz));
  tx->end_tsc = config.duration_s > 0.0 ? start + duration : 0;
  tx->pacer.start(start);
  rx->deadline_tsc = start + duration + rx->drain_cycles;

  // RX first, so it is polling before the first frame leaves.
  std::size_t next_worker = 0;
  if (main_rx && next_worker < workers.size() && (!main_tx || workers.size() >= 2)) {
    rte_eal_remote_launch(rx_lcore, rx.get(), workers[next_worker++]);
    main_rx = false;
  }
  if (main_tx && next_worker < workers.size()) {
    rte_eal_remote_launch(tx_lcore, tx.get(), workers[next_worker++]);
    main_tx = false;
  }

  Progress progress;
  progress.interval = static_cast<std::uint64_t>(config.interval_s * static_cast<double>(hz));
  progress.start = progress.last_tsc = start;
  progress.next = start + progress.interval;
  progress.hz = hz;
  progress.tx = config.sends() ? tx.get() : nullptr;
  progress.rx = config.receives() ? rx.get() : nullptr;

  bool tx_running = main_tx;
  bool rx_running = main_rx;
  for (;;) {
    const std::uint64_t now = rte_rdtsc();
    if (tx_running) tx_running = tx_step(*tx, now);
    if (rx_running) {
      rx_step(*rx);
      if (rx_finished(*rx, rte_rdtsc())) {
        rx_running = false;
        rx->done.store(true, std::memory_order_release);
      }
    }
    progress.tick(now);
    if (!tx_running && !rx_running) {
      const bool tx_done = !config.sends() || tx->done.load(std::memory_order_acquire);
      const bool rx_done = !config.receives() || rx->done.load(std::memory_order_acquire);
      if (tx_done && rx_done) break;
      if (!main_tx && !main_rx) usleep(1000);  // only supervising: no need to spin
    }
  }
  rte_eal_mp_wait_lcore();

  Report report;
  report.config = config;
  report.tx_port = port_name(tx_port);
  report.rx_port = port_name(rx_port);
  report.tsc_hz = hz;
  report.interrupted = stopping();
  report.tx = tx->stats;
  report.tx.seconds = tx->stats.packets > 1 ? static_cast<double>(tx->last_tsc - tx->first_tsc) / hz : 0.0;
  report.rx = rx->stats;
  report.rx.seq = config.mode == Mode::kTxRx ? rx->streams.stream(config.frame.stream).counters() : rx->streams.total();
  report.rx.seconds = rx->stats.packets > 1 ? static_cast<double>(rx->last_tsc - rx->first_tsc) / hz : 0.0;
  report.latency = rx->latency;

  if (config.json) {
    std::printf("%s\n", report_json(report).dump(2).c_str());
  } else {
    std::printf("%s", report_table(report).c_str());
  }
  std::fflush(stdout);
  return 0;
}

int run_gen(int argc, char** argv) {
  auto line = parse_command_line(argc, argv);
  if (!line) {
    std::fprintf(stderr, "ferry-bench gen: %s\n", line.error().message.c_str());
    return 2;
  }
  if (line->help) {
    std::printf("%s", line->help_text.c_str());
    return 0;
  }
  return run(*line);
}

}  // namespace

FERRY_BENCH_COMMAND(gen, "DPDK traffic generator/receiver: rate, loss, order, latency", run_gen);

}  // namespace ferry::bench::gen
