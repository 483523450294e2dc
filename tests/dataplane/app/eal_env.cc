#include "tests/dataplane/app/eal_env.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace ferry::dataplane::app::testing {
namespace {

bool g_eal_up = false;

class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::vector<std::string> args{"dp_app_unit_test",
                                  "--no-huge",
                                  "-m",
                                  "512",
                                  "--no-pci",
                                  "--no-shconf",
                                  "--no-telemetry",
                                  "--lcores=0",
                                  "--log-level=error",
                                  fmt::format("--file-prefix=ferry-dpunit-{}", getpid())};
    std::vector<char*> argv;
    argv.reserve(args.size());
    for (auto& a : args) argv.push_back(a.data());
    g_eal_up = rte_eal_init(static_cast<int>(argv.size()), argv.data()) >= 0;
  }
  void TearDown() override {
    if (g_eal_up) rte_eal_cleanup();
  }
};
const auto* const kEal = ::testing::AddGlobalTestEnvironment(new EalEnvironment);

}  // namespace

bool eal_up() { return g_eal_up; }

}  // namespace ferry::dataplane::app::testing
