#include "bench/gen/report.h"

#include <fmt/format.h>

namespace ferry::bench::gen {

namespace {

double per_second(std::uint64_t value, double seconds) {
  return seconds > 0.0 ? static_cast<double>(value) / seconds : 0.0;
}

std::string rate_text(std::uint64_t pps) { return pps == 0 ? "max" : fmt::format("{} pps", pps); }

}  // namespace

std::uint64_t Report::lost() const {
  const std::uint64_t unique = rx.seq.received - rx.seq.duplicates;
  return tx.packets > unique ? tx.packets - unique : 0;
}

nlohmann::json report_json(const Report& r) {
  const GenConfig& c = r.config;
  nlohmann::json j;
  j["mode"] = mode_name(c.mode);
  j["config"] = {{"size", c.frame.frame_size}, {"flows", c.frame.flows},
                 {"rate_pps", c.rate_pps},     {"duration_s", c.duration_s},
                 {"count", c.count},           {"burst", c.burst},
                 {"stream", c.frame.stream},   {"vxlan", c.frame.vxlan},
                 {"vni", c.frame.vni},         {"udp_checksum", c.frame.udp_checksum},
                 {"drain_s", c.drain_s}};
  j["ports"] = {{"tx", c.sends() ? nlohmann::json(r.tx_port) : nlohmann::json(nullptr)},
                {"rx", c.receives() ? nlohmann::json(r.rx_port) : nlohmann::json(nullptr)}};
  j["tsc_hz"] = r.tsc_hz;
  j["interrupted"] = r.interrupted;
  if (c.sends()) {
    j["tx"] = {{"packets", r.tx.packets},
               {"bytes", r.tx.bytes},
               {"seconds", r.tx.seconds},
               {"pps", per_second(r.tx.packets, r.tx.seconds)},
               {"mbps", per_second(r.tx.bytes, r.tx.seconds) * 8 / 1e6},
               {"ring_full", r.tx.ring_full},
               {"alloc_failures", r.tx.alloc_failures},
               {"schedule_skipped", r.tx.schedule_skipped}};
  } else {
    j["tx"] = nullptr;
  }
  if (c.receives()) {
    j["rx"] = {{"packets", r.rx.packets},
               {"bytes", r.rx.bytes},
               {"seconds", r.rx.seconds},
               {"pps", per_second(r.rx.packets, r.rx.seconds)},
               {"mbps", per_second(r.rx.bytes, r.rx.seconds) * 8 / 1e6},
               {"foreign", r.rx.foreign},
               {"encapsulated", r.rx.encapsulated},
               {"missing", r.rx.seq.missing},
               {"gaps", r.rx.seq.gaps},
               {"reordered", r.rx.seq.reordered},
               {"duplicates", r.rx.seq.duplicates},
               {"too_old", r.rx.seq.too_old},
               {"bad_timestamps", r.rx.bad_timestamps}};
    const Histogram& h = r.latency;
    j["latency_ns"] = {{"samples", h.count()},
                       {"min", r.cycles_to_ns(h.min())},
                       {"mean", h.mean() * 1e9 / static_cast<double>(r.tsc_hz)},
                       {"p50", r.cycles_to_ns(h.percentile(50))},
                       {"p90", r.cycles_to_ns(h.percentile(90))},
                       {"p99", r.cycles_to_ns(h.percentile(99))},
                       {"p999", r.cycles_to_ns(h.percentile(99.9))},
                       {"max", r.cycles_to_ns(h.max())}};
  } else {
    j["rx"] = nullptr;
    j["latency_ns"] = nullptr;
  }
  if (c.mode == Mode::kTxRx) {
    j["lost"] = r.lost();
    j["loss_ratio"] = r.tx.packets == 0 ? 0.0 : static_cast<double>(r.lost()) / static_cast<double>(r.tx.packets);
  } else {
    j["lost"] = nullptr;
    j["loss_ratio"] = nullptr;
  }
  return j;
}

std::string report_table(const Report& r) {
  const GenConfig& c = r.config;
  std::string out =
      fmt::format("ferry-bench gen {}: {} B{}, {} flow{}, rate {}, {}{}\n", mode_name(c.mode), c.frame.frame_size,
                  c.frame.vxlan ? fmt::format(" VXLAN vni {}", c.frame.vni) : "", c.frame.flows,
                  c.frame.flows == 1 ? "" : "s", rate_text(c.rate_pps),
                  c.count > 0 ? fmt::format("{} packets max, ", c.count) : "", fmt::format("{:g} s", c.duration_s));
  out += fmt::format("  {:<4} {:<22} {:>14} {:>16} {:>9} {:>14} {:>11}\n", "", "port", "packets", "bytes", "seconds",
                     "pps", "Mbit/s");
  auto row = [&](const char* name, const std::string& port, std::uint64_t packets, std::uint64_t bytes,
                 double seconds) {
    out += fmt::format("  {:<4} {:<22} {:>14} {:>16} {:>9.3f} {:>14.0f} {:>11.1f}\n", name, port, packets, bytes,
                       seconds, per_second(packets, seconds), per_second(bytes, seconds) * 8 / 1e6);
  };
  if (c.sends()) row("TX", r.tx_port, r.tx.packets, r.tx.bytes, r.tx.seconds);
  if (c.receives()) row("RX", r.rx_port, r.rx.packets, r.rx.bytes, r.rx.seconds);
  if (c.sends()) {
    out += fmt::format("  TX: ring full {}  pool empty {}  schedule skipped {}\n", r.tx.ring_full, r.tx.alloc_failures,
                       r.tx.schedule_skipped);
  }
  if (c.receives()) {
    if (c.mode == Mode::kTxRx) {
      out += fmt::format("  lost {} ({:.4f} %)  ", r.lost(),
                         r.tx.packets == 0 ? 0.0 : 100.0 * static_cast<double>(r.lost()) / r.tx.packets);
    } else {
      out += "  ";
    }
    out += fmt::format("missing {}  gaps {}  reordered {}  duplicates {}  too old {}  foreign {}  vxlan {}\n",
                       r.rx.seq.missing, r.rx.seq.gaps, r.rx.seq.reordered, r.rx.seq.duplicates, r.rx.seq.too_old,
                       r.rx.foreign, r.rx.encapsulated);
    const Histogram& h = r.latency;
    auto us = [&](std::uint64_t cycles) { return r.cycles_to_ns(cycles) / 1e3; };
    out += fmt::format(
        "  latency us: min {:.1f}  p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  p99.9 {:.1f}  max {:.1f}  ({} samples)\n",
        us(h.min()), us(h.percentile(50)), us(h.percentile(90)), us(h.percentile(99)), us(h.percentile(99.9)),
        us(h.max()), h.count());
  }
  if (r.interrupted) out += "  (interrupted: figures cover the run until the signal)\n";
  return out;
}

}  // namespace ferry::bench::gen
