// main() for integration test binaries: they need root (namespaces, veth,
// DPDK). Without root the binary exits with 77, which meson reports as
// SKIP, so a non-root `make test` shows them as skipped, not passed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (geteuid() != 0) {
    std::fprintf(stderr, "SKIP: integration tests need root (network namespaces, veth, DPDK)\n");
    return 77;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
