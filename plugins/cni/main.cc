// ferry (CNI plugin): installed as /usr/lib/cni/ferry, run by a container
// runtime (Podman, containerd, CRI-O, Kubernetes) with CNI_* variables and
// the network configuration on stdin. docs/cni.md.
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include "plugins/cni/error.h"
#include "plugins/cni/plugin.h"

int main() {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (std::cin.bad()) {
    const ferry::cni::CniError e{ferry::cni::kIoFailure, "cannot read the network configuration",
                                 "reading stdin failed"};
    std::cout << e.to_json(std::string(ferry::cni::kNewestVersion)).dump() << '\n';
    return 1;
  }
  // One thread, and nothing sets the environment.
  return ferry::cni::run([](const char* name) { return std::getenv(name); },  // NOLINT(concurrency-mt-unsafe)
                         text, std::cout);
}
