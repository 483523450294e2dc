// One EAL for a unit-test executable (--no-huge, no PCI, no shared files):
// started by a global test environment, so every test file of the
// executable can use mbufs, mempools and vdevs. Tests that need it skip
// when it could not start.
#pragma once

namespace ferry::dataplane::app::testing {

// True once the EAL is up.
bool eal_up();

}  // namespace ferry::dataplane::app::testing
