#include "control/ipam/counters.h"

namespace ferry::ipam {

namespace {

constexpr const char* kNames[] = {
#define FERRY_X(name, help) #name,
    FERRY_IPAM_COUNTERS(FERRY_X)
#undef FERRY_X
};

constexpr const char* kHelp[] = {
#define FERRY_X(name, help) help,
    FERRY_IPAM_COUNTERS(FERRY_X)
#undef FERRY_X
};

}  // namespace

const char* counter_name(Counter c) { return kNames[static_cast<std::size_t>(c)]; }
const char* counter_help(Counter c) { return kHelp[static_cast<std::size_t>(c)]; }

}  // namespace ferry::ipam
