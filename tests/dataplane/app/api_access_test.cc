// Who may use a running data plane's API socket, as `ferryctl dp` reports
// it: root gets in; an unprivileged user is told "permission denied" and
// what to do, not "no reply"; with --api-group that group's members get in;
// a path with no data plane says so. The unprivileged runs use setpriv(1)
// to become nobody.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

class ApiAccess : public DataplaneTest {
 protected:
  void SetUp() override {
    if (!harness::run_command({"setpriv", "--version"}, std::chrono::seconds(5))) {
      GTEST_SKIP() << "setpriv(1) is not installed";
    }
    DataplaneTest::SetUp();
  }
  // `ferryctl dp --api API health` as nobody, with the supplementary group
  // `group` if not empty.
  harness::CommandResult as_nobody(const std::string& api, const std::string& group = "") {
    std::vector<std::string> argv{"setpriv", "--reuid=nobody", "--regid=nogroup"};
    if (group.empty()) {
      argv.emplace_back("--clear-groups");
    } else {
      argv.emplace_back("--groups=" + group);
    }
    argv.insert(argv.end(), {FERRY_CTL_BIN, "dp", "--api", api, "--timeout-ms", "5000", "health"});
    auto r = harness::run_command(argv, std::chrono::seconds(20));
    if (!r) return harness::CommandResult{-1, false, r.error().message};
    return *r;
  }
  static std::string path_of(const std::string& api) { return api.substr(std::string("ipc://").size()); }
};

TEST_F(ApiAccess, UnprivilegedUserIsToldPermissionDenied) {
  start_dataplane(1);
  if (HasFatalFailure()) return;
  ctl_ok(1, {"health"});  // root
  const auto denied = as_nobody(api(1));
  EXPECT_EQ(denied.exit_code, 3) << denied.output;
  EXPECT_NE(denied.output.find("permission denied on " + path_of(api(1)) +
                               ": run as root or as a member of ferry-dataplane's --api-group"),
            std::string::npos)
      << denied.output;
  EXPECT_EQ(denied.output.find("no reply"), std::string::npos) << denied.output;
}

// --api-group users: mode 0660, group users. nobody (primary group
// nogroup) gets in with users as a supplementary group, not without.
TEST_F(ApiAccess, ApiGroupMembersGetIn) {
  start_dataplane(1, {"--api-group", "users"});
  if (HasFatalFailure()) return;
  const auto member = as_nobody(api(1), "users");
  EXPECT_EQ(member.exit_code, 0) << member.output;
  const auto stranger = as_nobody(api(1));
  EXPECT_EQ(stranger.exit_code, 3) << stranger.output;
  EXPECT_NE(stranger.output.find("permission denied on " + path_of(api(1))), std::string::npos) << stranger.output;
}

TEST_F(ApiAccess, NoDataPlaneAtThePathIsSaid) {
  const std::string api = "ipc:///tmp/ferry-test-" + topo_->prefix() + "-none.sock";
  const auto r = as_nobody(api);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("no socket at " + path_of(api) + ": ferry-dataplane is not running"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace ferry::dptest
