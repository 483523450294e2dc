// ferry-bench pipeline: the forwarding pipeline alone, frames from memory, no
// kernel I/O. Encapsulation, decapsulation and local switching at several
// frame sizes and MAC-table populations; Mpps per core and TSC cycles per
// frame, plus the memory the tables take at the largest population.
//
// Method: a working set of mbufs is built once per case; each round feeds it
// in bursts of 32 to process_endpoint/process_uplink on this one thread; the
// TX function accepts the frames without freeing them, and the round resets
// each mbuf (data offset and lengths; for encap also a fresh destination MAC
// drawn from the table so lookups hit the whole table, not a cached corner).
// The reset is inside the timed loop: it costs a few cycles per frame, so the
// numbers slightly understate the pipeline. Time is this thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID), converted to TSC cycles, so a busy shared
// machine does not count time the bench was descheduled; the CPU-share column
// says how much of the wall time it actually ran (caches are colder when
// other processes run in between).
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/command.h"
#include "bench/pipeline/superframe_bench.h"
#include "common/result.h"
#include "dataplane/core/pipeline.h"

namespace ferry::bench {
namespace {

using dataplane::EndpointPort;
using dataplane::Ipv4Addr;
using dataplane::LcoreContext;
using dataplane::MacAddr;
using dataplane::Pipeline;
using dataplane::PipelineConfig;
using dataplane::PortId;
using dataplane::Vni;
using Bytes = std::vector<std::uint8_t>;

constexpr Vni kVni = 4242;
constexpr PortId kUplink = 0;
constexpr PortId kIngress = 1;
constexpr int kLocalPorts = 8;  // ports 1..8
constexpr int kVteps = 64;
const MacAddr kUplinkMac{{0x02, 0xfe, 0, 0, 0, 1}};
const MacAddr kNextHop{{0x02, 0xfe, 0, 0, 0, 2}};
constexpr Ipv4Addr kVtepIp{0xac1f0001};

MacAddr local_mac(int i) { return MacAddr::from_u64(0x020000010000ull + static_cast<std::uint64_t>(i)); }
Ipv4Addr local_ip(int i) { return Ipv4Addr{0x0a000100u + static_cast<std::uint32_t>(i)}; }
MacAddr remote_mac(std::uint32_t i) { return MacAddr::from_u64(0x060000000000ull + i); }
Ipv4Addr vtep_ip(int i) { return Ipv4Addr{0xac1f0100u + static_cast<std::uint32_t>(i)}; }

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}
std::uint16_t ip_checksum(const std::uint8_t* h) {
  std::uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(h[i] << 8 | h[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// An Ethernet/IPv4/UDP frame of `size` bytes (size >= 42).
Bytes udp_frame(const MacAddr& dst, const MacAddr& src, Ipv4Addr sip, Ipv4Addr dip, std::uint16_t sport,
                std::size_t size) {
  Bytes f(size, 0);
  std::memcpy(f.data(), dst.bytes.data(), 6);
  std::memcpy(f.data() + 6, src.bytes.data(), 6);
  put16(f.data() + 12, 0x0800);
  std::uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  put16(ip + 2, static_cast<std::uint16_t>(size - 14));
  ip[8] = 64;
  ip[9] = 17;
  put32(ip + 12, sip.value);
  put32(ip + 16, dip.value);
  put16(ip + 10, ip_checksum(ip));
  put16(ip + 20, sport);
  put16(ip + 22, 5001);
  put16(ip + 24, static_cast<std::uint16_t>(size - 34));
  return f;
}

// `inner` in VXLAN from `from` to us.
Bytes vxlan_frame(const Bytes& inner, Ipv4Addr from, std::uint16_t sport) {
  Bytes f(50 + inner.size(), 0);
  std::memcpy(f.data(), kUplinkMac.bytes.data(), 6);
  std::memcpy(f.data() + 6, kNextHop.bytes.data(), 6);
  put16(f.data() + 12, 0x0800);
  std::uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  put16(ip + 2, static_cast<std::uint16_t>(36 + inner.size()));
  ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = 17;
  put32(ip + 12, from.value);
  put32(ip + 16, kVtepIp.value);
  put16(ip + 10, ip_checksum(ip));
  put16(ip + 20, sport);
  put16(ip + 22, 4789);
  put16(ip + 24, static_cast<std::uint16_t>(16 + inner.size()));
  ip[28] = 0x08;
  put32(ip + 32, kVni << 8);
  std::memcpy(f.data() + 50, inner.data(), inner.size());
  return f;
}

std::uint16_t accept_all(void* arg, PortId, std::uint16_t, rte_mbuf**, std::uint16_t n) {
  *static_cast<std::uint64_t*>(arg) += n;
  return n;  // the bench owns the mbufs: nothing is freed
}

enum class Mode { Encap, Decap, Local };
const char* mode_name(Mode m) { return m == Mode::Encap ? "encap" : m == Mode::Decap ? "decap" : "local"; }

struct CaseResult {
  Mode mode;
  std::size_t frame_size;
  std::uint32_t entries;
  double mpps;              // frames per second of this thread's CPU time
  double cycles_per_frame;  // TSC cycles per frame, CPU time only
  double cpu_share;         // CPU time / wall time: < 0.95 means the core was shared
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Options {
  bool json = false;
  bool huge = false;  // hugepages (as the data plane runs in production) instead of --no-huge
  // Mbufs cycled through: 256 x 2.2 KiB stays in a 1 MiB L2, like a burst ring
  // the PMD just filled; larger sets measure cache misses on frame data.
  std::uint32_t working_set = 256;
  double seconds = 0.4;
  std::vector<std::uint32_t> entries = {1, 1000, 1000000};
  std::vector<std::size_t> sizes = {64, 512, 1450};
  bool superframes = true;  // the 64 KB super-frame rows (segmentation, coalescing)
  bool superframes_only = false;
};

// A whole number of bursts, at least one; Options and Bench::run both check it.
bool valid_working_set(std::uint32_t mbufs) {
  return mbufs >= dataplane::kBurstSize && mbufs <= 3072 && mbufs % dataplane::kBurstSize == 0;
}

class Bench {
 public:
  Bench(Pipeline& p, LcoreContext& ctx, rte_mempool* pool, std::uint32_t working_set)
      : p_(p), ctx_(ctx), pool_(pool), working_set_(working_set) {}

  // Fills the MAC table to `entries` (local ports count as entries).
  bool populate(std::uint32_t entries) {
    auto& t = p_.tables();
    const std::uint32_t remote = entries > kLocalPorts ? entries - kLocalPorts : 1;
    for (std::uint32_t i = populated_; i < remote; ++i) {
      if (!t.add_remote_mac(kVni, remote_mac(i), vtep_ip(static_cast<int>(i % kVteps)))) {
        std::fprintf(stderr, "pipeline bench: cannot add MAC entry %u\n", i);
        return false;
      }
    }
    populated_ = std::max(populated_, remote);
    remote_ = remote;
    return true;
  }

  Result<CaseResult> run(Mode mode, std::size_t size, std::uint32_t entries, double seconds) {
    // The loops below walk the working set a burst at a time and size the
    // timing rounds by it: anything but whole bursts reads past the end.
    if (!valid_working_set(working_set_)) {
      return make_error("working set of {} mbufs is not a multiple of {} in {}..3072", working_set_,
                        dataplane::kBurstSize, dataplane::kBurstSize);
    }
    if (!(seconds > 0)) return make_error("measured time {} s is not positive", seconds);
    // Working set.
    std::vector<rte_mbuf*> mbufs(working_set_);
    std::vector<std::uint16_t> data_off(working_set_), len(working_set_);
    std::mt19937 rng(42);
    for (std::uint32_t i = 0; i < working_set_; ++i) {
      Bytes f;
      const std::uint16_t sport = static_cast<std::uint16_t>(1024 + i);
      if (mode == Mode::Encap) {
        f = udp_frame(remote_mac(rng() % remote_), local_mac(0), local_ip(0), Ipv4Addr{0x0a000200}, sport, size);
      } else if (mode == Mode::Local) {
        const int to = 1 + static_cast<int>(i % (kLocalPorts - 1));
        f = udp_frame(local_mac(to), local_mac(0), local_ip(0), local_ip(to), sport, size);
      } else {
        const int to = static_cast<int>(i % kLocalPorts);
        f = vxlan_frame(
            udp_frame(local_mac(to), remote_mac(i % remote_), Ipv4Addr{0x0a000200}, local_ip(to), sport, size),
            vtep_ip(static_cast<int>(i % kVteps)), sport);
      }
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      if (m == nullptr) {
        for (std::uint32_t j = 0; j < i; ++j) rte_pktmbuf_free(mbufs[j]);
        return make_error("mbuf pool exhausted at {} of {} mbufs", i, working_set_);
      }
      std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(f.size())), f.data(), f.size());
      mbufs[i] = m;
      data_off[i] = m->data_off;
      len[i] = static_cast<std::uint16_t>(f.size());
    }
    // Destination MACs for encap, drawn from the whole table.
    std::vector<std::uint64_t> dst(1u << 16);
    for (auto& d : dst) d = remote_mac(rng() % remote_).to_u64();

    const Stats before = p_.stats();
    std::uint64_t frames = 0, cycles = 0;
    double cpu = 0;
    std::size_t next_dst = 0;
    const std::uint64_t budget = static_cast<std::uint64_t>(seconds * static_cast<double>(rte_get_tsc_hz()));
    bool warm = false;
    // Clocks are read every `rounds` passes over the working set (>= 16384
    // frames), so reading them (a system call for the thread CPU time) costs
    // well under a cycle per frame.
    const std::uint32_t rounds = std::max<std::uint32_t>(1, 16384 / working_set_);
    for (;;) {
      const double cpu_start = thread_cpu_seconds();
      const std::uint64_t start = rte_rdtsc();
      for (std::uint32_t round = 0; round < rounds; ++round) {
        for (std::uint32_t b = 0; b < working_set_; b += dataplane::kBurstSize) {
          rte_mbuf** burst = &mbufs[b];
          for (std::uint32_t i = 0; i < dataplane::kBurstSize; ++i) {
            rte_mbuf* m = burst[i];
            m->data_off = data_off[b + i];
            m->data_len = len[b + i];
            m->pkt_len = len[b + i];
            if (mode == Mode::Encap) {
              const std::uint64_t be = rte_cpu_to_be_64(dst[next_dst++ & (dst.size() - 1)] << 16);
              std::memcpy(rte_pktmbuf_mtod(m, void*), &be, 6);
            }
          }
          if (mode == Mode::Decap) {
            p_.process_uplink(ctx_, burst, dataplane::kBurstSize);
          } else {
            p_.process_endpoint(ctx_, kIngress, burst, dataplane::kBurstSize);
          }
          ctx_.quiescent();
        }
      }
      const std::uint64_t spent = rte_rdtsc() - start;
      const double cpu_spent = thread_cpu_seconds() - cpu_start;
      if (!warm) {  // the first round warms caches and is not counted
        warm = true;
        continue;
      }
      cycles += spent;
      cpu += cpu_spent;
      frames += static_cast<std::uint64_t>(working_set_) * rounds;
      if (cycles >= budget) break;
    }
    const Stats after = p_.stats();
    for (rte_mbuf* m : mbufs) {
      m->data_off = RTE_PKTMBUF_HEADROOM;
      rte_pktmbuf_free(m);
    }
    if (after.total_drops() != before.total_drops()) {
      return make_error("{} {} B dropped frames ({}): the setup is wrong", mode_name(mode), size,
                        after.total_drops() - before.total_drops());
    }
    const double wall = static_cast<double>(cycles) / static_cast<double>(rte_get_tsc_hz());
    return CaseResult{mode,
                      size,
                      entries,
                      static_cast<double>(frames) / cpu / 1e6,
                      cpu * static_cast<double>(rte_get_tsc_hz()) / static_cast<double>(frames),
                      cpu / wall};
  }

 private:
  using Stats = dataplane::Stats;
  Pipeline& p_;
  LcoreContext& ctx_;
  rte_mempool* pool_;
  std::uint32_t working_set_;
  std::uint32_t populated_ = 0;
  std::uint32_t remote_ = 1;
};

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

int usage() {
  std::fprintf(stderr,
               "usage: ferry-bench pipeline [--json] [--seconds S] [--entries N,N,...] [--sizes B,B,...]\n"
               "                            [--working-set MBUFS] [--huge] [--no-superframes | --superframes-only]\n"
               "  Measures encap, decap and local switching from memory on one core, then\n"
               "  segmenting and coalescing a 64 KB TCP super-frame.\n"
               "  --seconds S   measured time per case (default 0.4)\n"
               "  --entries     MAC-table populations (default 1,1000,1000000)\n"
               "  --sizes       frame sizes in bytes, without FCS (default 64,512,1450)\n"
               "  --working-set mbufs cycled through (default 256, multiple of 32, at most 3072)\n"
               "  --huge        use hugepages (needs them reserved and hugetlbfs mounted); default --no-huge\n");
  return 2;
}

// The whole of `text` as a T (decimal), or nothing: no sign, no trailing
// characters, no overflow.
template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, value);
  if (text.empty() || ec != std::errc() || end != last) return std::nullopt;
  return value;
}

template <typename T>
bool parse_list(std::string_view text, std::vector<T>& out) {
  out.clear();
  for (;;) {
    const std::size_t comma = text.find(',');
    const auto v = parse_number<T>(text.substr(0, comma));
    if (!v) return false;
    out.push_back(*v);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;
}

int run_pipeline(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      opt.json = true;
    } else if (a == "--huge") {
      opt.huge = true;
    } else if (a == "--no-superframes") {
      opt.superframes = false;
    } else if (a == "--superframes-only") {
      opt.superframes_only = true;
    } else if (a == "--seconds" && i + 1 < argc) {
      const auto s = parse_number<double>(argv[++i]);
      if (!s || !std::isfinite(*s) || *s <= 0) {
        std::fprintf(stderr, "pipeline bench: --seconds wants a positive number of seconds, not '%s'\n", argv[i]);
        return 2;
      }
      opt.seconds = *s;
    } else if (a == "--working-set" && i + 1 < argc) {
      const auto n = parse_number<std::uint32_t>(argv[++i]);
      if (!n || !valid_working_set(*n)) {
        std::fprintf(stderr, "pipeline bench: --working-set must be a multiple of %u in %u..3072, not '%s'\n",
                     dataplane::kBurstSize, dataplane::kBurstSize, argv[i]);
        return 2;
      }
      opt.working_set = *n;
    } else if (a == "--entries" && i + 1 < argc) {
      if (!parse_list(argv[++i], opt.entries)) return usage();
    } else if (a == "--sizes" && i + 1 < argc) {
      if (!parse_list(argv[++i], opt.sizes)) return usage();
      for (std::size_t s : opt.sizes) {
        if (s < 60 || s > 1464) {
          std::fprintf(stderr, "pipeline bench: frame size %zu out of range 60..1464\n", s);
          return 2;
        }
      }
    } else {
      return usage();
    }
  }
  std::sort(opt.entries.begin(), opt.entries.end());

  const std::string prefix = "--file-prefix=ferry-bench-" + std::to_string(::getpid());
  // --no-huge by default (runs anywhere); --huge takes hugepages on demand
  // (in-memory mode, no -m: about 70 x 2 MiB pages at 1 000 000 entries).
  std::vector<const char*> eal_args = {
      "ferry-bench", "--no-pci", "--no-telemetry", prefix.c_str(), "--log-level=*:warning", "-l", "0"};
  if (opt.huge) {
    eal_args.push_back("--in-memory");
  } else {
    for (const char* a : {"--no-huge", "-m", "1024", "--no-shconf"}) eal_args.push_back(a);
  }
  std::vector<char*> eal_argv;
  eal_argv.reserve(eal_args.size());
  for (const char* a : eal_args) eal_argv.push_back(const_cast<char*>(a));
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "pipeline bench: EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  rte_mempool* pool = rte_pktmbuf_pool_create("bench_pool", 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (pool == nullptr) {
    std::fprintf(stderr, "pipeline bench: mempool: %s\n", rte_strerror(rte_errno));
    return 1;
  }

  PipelineConfig cfg;
  cfg.underlay.vtep_ip = kVtepIp;
  cfg.underlay.uplink_mac = kUplinkMac;
  cfg.uplink_port = kUplink;
  cfg.tables.mac_capacity = std::max<std::uint32_t>(1u << 20, opt.entries.back() + opt.entries.back() / 20);
  cfg.tables.max_workers = 1;
  cfg.tables.name = "bench";
  auto pipeline = Pipeline::create(cfg);
  if (!pipeline) {
    std::fprintf(stderr, "pipeline bench: %s\n", pipeline.error().message.c_str());
    return 1;
  }
  Pipeline& p = **pipeline;
  auto ctx = p.make_lcore(0, 0, pool);
  if (!ctx) {
    std::fprintf(stderr, "pipeline bench: %s\n", ctx.error().message.c_str());
    return 1;
  }
  std::uint64_t tx_frames = 0;
  (*ctx)->set_tx(&accept_all, &tx_frames);

  auto& t = p.tables();
  bool ok = static_cast<bool>(t.add_network(kVni, false));
  for (int i = 0; i < kLocalPorts; ++i) {
    ok = ok && t.add_port(EndpointPort{static_cast<PortId>(kIngress + i), kVni, local_mac(i), {local_ip(i)}});
  }
  for (int i = 0; i < kVteps; ++i) {
    ok = ok && t.add_flood_vtep(kVni, vtep_ip(i)) && t.set_vtep_next_hop(vtep_ip(i), kNextHop);
  }
  if (!ok) {
    std::fprintf(stderr, "pipeline bench: cannot program the tables\n");
    return 1;
  }

  Bench bench(p, **ctx, pool, opt.working_set);
  std::vector<CaseResult> results;
  std::size_t memory_at_max = 0;
  double populate_seconds = 0;
  if (opt.superframes_only) opt.entries.clear();
  for (std::uint32_t entries : opt.entries) {
    const std::uint64_t t0 = rte_rdtsc();
    if (!bench.populate(entries)) return 1;
    populate_seconds = static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(rte_get_tsc_hz());
    if (!opt.json) {
      std::fprintf(stderr, "MAC table: %zu entries (filled in %.1f s)\n", t.mac_count(), populate_seconds);
    }
    for (Mode mode : {Mode::Encap, Mode::Decap, Mode::Local}) {
      for (std::size_t size : opt.sizes) {
        auto r = bench.run(mode, size, entries, opt.seconds);
        if (!r) {
          std::fprintf(stderr, "pipeline bench: %s\n", r.error().message.c_str());
          return 1;
        }
        results.push_back(*r);
      }
    }
    memory_at_max = t.memory_bytes();
  }

  std::vector<SuperframeResult> superframes;
  if (opt.superframes || opt.superframes_only) {
    std::string error;
    superframes = run_superframe_cases(opt.seconds, error);
    if (!error.empty()) {
      std::fprintf(stderr, "pipeline bench: %s\n", error.c_str());
      return 1;
    }
  }

  const std::string cpu = cpu_model();
  const double tsc_ghz = static_cast<double>(rte_get_tsc_hz()) / 1e9;
  if (opt.json) {
    std::printf(
        "{\"benchmark\": \"pipeline\", \"cpu\": \"%s\", \"tsc_ghz\": %.3f, \"burst\": %u, \"working_set\": %u,"
        " \"hugepages\": %s,\n",
        cpu.c_str(), tsc_ghz, dataplane::kBurstSize, opt.working_set, opt.huge ? "true" : "false");
    std::printf(" \"table_memory_bytes\": %zu, \"table_entries\": %zu,\n \"results\": [\n", memory_at_max,
                t.mac_count());
    for (std::size_t i = 0; i < results.size(); ++i) {
      const CaseResult& r = results[i];
      std::printf(
          "  {\"mode\": \"%s\", \"frame_bytes\": %zu, \"mac_entries\": %u, \"mpps\": %.2f, "
          "\"cycles_per_frame\": %.1f, \"cpu_share\": %.2f}%s\n",
          mode_name(r.mode), r.frame_size, r.entries, r.mpps, r.cycles_per_frame, r.cpu_share,
          i + 1 < results.size() ? "," : "");
    }
    std::printf(" ],\n \"superframes\": %s}\n", superframe_json(superframes).c_str());
  } else {
    std::printf("ferry-bench pipeline: one core (%s, TSC %.2f GHz), burst %u, %u mbufs, %s, frames from memory\n\n",
                cpu.c_str(), tsc_ghz, dataplane::kBurstSize, opt.working_set,
                opt.huge ? "hugepages" : "no hugepages (4 KiB pages)");
    std::printf("| mode  | frame B | MAC entries | Mpps/core | cycles/frame | CPU share |\n");
    std::printf("|-------|--------:|------------:|----------:|-------------:|----------:|\n");
    for (const CaseResult& r : results) {
      std::printf("| %-5s | %7zu | %11u | %9.2f | %12.1f | %9.2f |\n", mode_name(r.mode), r.frame_size, r.entries,
                  r.mpps, r.cycles_per_frame, r.cpu_share);
    }
    std::printf("\ntable memory at %zu MAC entries: %.1f MiB\n", t.mac_count(),
                static_cast<double>(memory_at_max) / (1024.0 * 1024.0));
    if (!superframes.empty()) {
      std::printf("\n64 KB TCP super-frame (MSS 1398, 2 KB mbufs), one core, CPU time per super-frame:\n\n");
      print_superframe_table(superframes);
    }
  }
  p.release_lcore(**ctx);
  return 0;
}

}  // namespace
}  // namespace ferry::bench

FERRY_BENCH_COMMAND(pipeline, "forwarding pipeline from memory (encap, decap, local switching)",
                    ferry::bench::run_pipeline);
