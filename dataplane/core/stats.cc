// The pipeline's counters as the control thread reads them: every lcore's
// counters summed (relaxed loads), or one lcore's. Contexts already released
// keep counting in the total through released_.
#include <utility>
#include <vector>

#include "dataplane/core/pipeline.h"

namespace ferry::dataplane {

Stats Pipeline::stats() const {
  Stats total = released_;
  for (const LcoreContext* c : lcores_) total.add(*c->counters_);
  return total;
}

std::vector<std::pair<std::uint32_t, Stats>> Pipeline::stats_per_lcore() const {
  std::vector<std::pair<std::uint32_t, Stats>> out;
  for (const LcoreContext* c : lcores_) {
    Stats s;
    s.add(*c->counters_);
    out.emplace_back(c->worker_id_, s);
  }
  return out;
}

}  // namespace ferry::dataplane
