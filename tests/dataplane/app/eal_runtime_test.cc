// What a data plane leaves on the host after a clean exit: EAL makes a
// runtime directory per start (RUNTIME_DIRECTORY or /var/run, then
// dpdk/ferry-<pid>), which stays empty with --no-huge (--no-shconf) and
// --in-memory; the data plane removes it when it stops, so a host that
// restarts it for months does not collect one per start.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

// The directory EAL makes for a data plane with the default --file-prefix.
std::filesystem::path eal_runtime_dir(pid_t pid) {
  const char* runtime = std::getenv("RUNTIME_DIRECTORY");  // NOLINT(concurrency-mt-unsafe): no thread sets the env
  return std::filesystem::path(runtime != nullptr ? runtime : "/var/run") / "dpdk" / ("ferry-" + std::to_string(pid));
}

class EalRuntimeDir : public DataplaneTest {};

TEST_F(EalRuntimeDir, CleanExitWithoutHugepagesLeavesNoRuntimeDirectory) {
  start_dataplane(1);  // --no-huge
  if (HasFatalFailure()) return;
  const auto dir = eal_runtime_dir(dataplanes_.at(1)->pid());
  // There while it runs: the path is the one EAL uses.
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  EXPECT_EQ(stop_dataplane(1), 0);
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir << " is left after the data plane stopped";
}

TEST_F(EalRuntimeDir, CleanExitWithHugepagesLeavesNoRuntimeDirectory) {
  start_dataplane(1, {"--hugepages"});  // --in-memory
  if (HasFatalFailure()) return;
  const auto dir = eal_runtime_dir(dataplanes_.at(1)->pid());
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  EXPECT_EQ(stop_dataplane(1), 0);
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir << " is left after the data plane stopped";
}

}  // namespace
}  // namespace ferry::dptest
