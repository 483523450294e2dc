// The VTEP echo between two ferry-dataplane processes (root, namespaces):
// each answers the other's requests, so `ferryctl dp vteps` shows the other
// alive; once one data plane is killed the other's view goes silent within
// a few intervals. Both uplink modes: the DPDK af_packet uplink and the
// kernel-UDP uplink (--uplink-mode udp). A network cannot take the echo's VNI.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

using namespace std::chrono_literals;

class VtepEcho : public DataplaneTest {
 protected:
  harness::TopologyConfig topology_config() const override {
    harness::TopologyConfig c;
    c.underlay_tx_checksum = true;  // UDP_SEGMENT (udp mode) needs it; af_packet does not mind
    return c;
  }

  // `host`'s view of the other host's VTEP, or null.
  nlohmann::json view_of(int host, int other) {
    const auto out = ctl_json(host, {"vteps"});
    for (const auto& v : out.value("vteps", nlohmann::json::array())) {
      if (v.value("vtep", "") == vtep_ip(other)) return v;
    }
    return nullptr;
  }

  void answer_each_other_then_one_dies(bool udp) {
    const std::vector<std::string> echo{"--vtep-echo-ms", "100"};
    for (int h : {1, 2}) {
      if (udp) {
        ASSERT_NO_FATAL_FAILURE(start_udp_dataplane(h, echo));
      } else {
        auto args = echo;
        args.insert(args.end(), {"--uplink-driver", "af_packet"});
        ASSERT_NO_FATAL_FAILURE(start_dataplane(h, args));
      }
    }
    // A network with the other host in its flood list: each references the other.
    for (int h : {1, 2}) {
      ctl_ok(h, {"net", "add", "--vni", "100"});
      ctl_ok(h, {"flood", "add", "--vni", "100", "--vtep", vtep_ip(3 - h)});
    }
    ASSERT_FALSE(HasFailure());
    for (int h : {1, 2}) {
      ASSERT_TRUE(harness::wait_until(
          [&] {
            const auto v = view_of(h, 3 - h);
            return !v.is_null() && v.value("alive", false) && v.value("requests_answered", 0) > 0;
          },
          15s, 100ms))
          << "host " << h << ": " << ctl(h, {"vteps", "--json"}).output;
    }
    const auto st = stats_json(1);
    EXPECT_GT(stat_value(st, "counters", "vtep_echo"), 0u);
    EXPECT_EQ(stat_value(st, "drops", "unknown_vni"), 0u);
    const auto table = ctl(1, {"vteps"});
    EXPECT_NE(table.output.find(vtep_ip(2)), std::string::npos) << table.output;
    EXPECT_NE(table.output.find("alive"), std::string::npos) << table.output;
    // The echo's VNI is no network's.
    EXPECT_NE(ctl(1, {"net", "add", "--vni", "16777215"}).exit_code, 0);

    // Host 2's data plane dies: host 1 stops hearing it within a few intervals.
    ::kill(dataplanes_[2]->pid(), SIGKILL);
    dataplanes_[2]->stop();
    dataplanes_.erase(2);  // killed on purpose: not a failed clean exit
    ASSERT_TRUE(harness::wait_until([&] { return !view_of(1, 2).value("alive", true); }, 10s, 100ms))
        << ctl(1, {"vteps", "--json"}).output;
    const auto silent = view_of(1, 2);
    EXPECT_GE(silent.value("last_reply_ms", 0), 300) << silent.dump();
  }
};

TEST_F(VtepEcho, AfPacketUplinksAnswerEachOtherAndAKilledOneFallsSilent) { answer_each_other_then_one_dies(false); }

TEST_F(VtepEcho, UdpUplinksAnswerEachOtherAndAKilledOneFallsSilent) { answer_each_other_then_one_dies(true); }

}  // namespace
}  // namespace ferry::dptest
