#include "bench/gen/seq_tracker.h"

#include <gtest/gtest.h>

#include <vector>

namespace ferry::bench::gen {
namespace {

struct Case {
  const char* name;
  std::vector<std::uint64_t> seqs;
  SeqCounters want;
};

TEST(SeqTracker, Table) {
  const std::vector<Case> cases = {
      {"in order", {0, 1, 2, 3, 4}, {.received = 5}},
      {"one gap", {0, 1, 5, 6}, {.received = 4, .missing = 3, .gaps = 1}},
      {"two gaps", {0, 2, 3, 7}, {.received = 4, .missing = 4, .gaps = 2}},
      {"swap fills the gap", {0, 2, 1, 3}, {.received = 4, .gaps = 1, .reordered = 1}},
      {"late arrival of a longer gap", {0, 4, 2}, {.received = 3, .missing = 2, .gaps = 1, .reordered = 1}},
      {"duplicate", {0, 1, 1, 2}, {.received = 4, .duplicates = 1}},
      {"duplicate of newest", {0, 1, 2, 2}, {.received = 4, .duplicates = 1}},
      {"late then duplicate", {0, 2, 1, 1}, {.received = 4, .gaps = 1, .reordered = 1, .duplicates = 1}},
      {"starts late: earlier numbers not counted", {100, 101}, {.received = 2}},
      {"older than the window", {0, 2000, 5}, {.received = 3, .missing = 1999, .gaps = 1, .too_old = 1}},
      {"edge of the window", {0, 1024, 1}, {.received = 3, .missing = 1022, .gaps = 1, .reordered = 1}},
      {"jump past the window forgets old marks",
       {0, 5000, 3000},
       {.received = 3, .missing = 4999, .gaps = 1, .too_old = 1}},
  };
  for (const auto& c : cases) {
    SeqTracker t;
    for (std::uint64_t s : c.seqs) t.record64(s);
    EXPECT_EQ(t.counters(), c.want) << c.name;
  }
}

TEST(SeqTracker, WindowSlotsAreReusedWithoutFalseDuplicates) {
  SeqTracker t;
  for (std::uint64_t s = 0; s < 10 * SeqTracker::kWindow; ++s) t.record64(s);
  EXPECT_EQ(t.counters(), (SeqCounters{.received = 10 * SeqTracker::kWindow}));
  // Skip one, deliver it late after many others: still a reorder, not a duplicate.
  t.record64(10 * SeqTracker::kWindow + 1);
  t.record64(10 * SeqTracker::kWindow + 2);
  t.record64(10 * SeqTracker::kWindow);
  EXPECT_EQ(t.counters().reordered, 1U);
  EXPECT_EQ(t.counters().duplicates, 0U);
  EXPECT_EQ(t.counters().missing, 0U);
}

TEST(SeqTracker, ExtendsWireNumbersAcrossTheWrap) {
  SeqTracker t;
  for (std::uint32_t s : {0xFFFFFFFEU, 0xFFFFFFFFU, 0U, 1U}) t.record(s);
  EXPECT_EQ(t.counters(), (SeqCounters{.received = 4}));
  EXPECT_EQ(t.next(), (std::uint64_t{1} << 32) + 2);
  t.record(0xFFFFFFFFU);  // the old one again: a duplicate, not a huge jump back
  EXPECT_EQ(t.counters().duplicates, 1U);
}

TEST(StreamTable, KeepsStreamsApartAndSums) {
  StreamTable table;
  for (std::uint32_t s = 0; s < 10; ++s) table.record(1, s);
  for (std::uint32_t s : {0U, 1U, 3U}) table.record(2, s);
  EXPECT_EQ(table.stream(1).counters(), (SeqCounters{.received = 10}));
  EXPECT_EQ(table.stream(2).counters(), (SeqCounters{.received = 3, .missing = 1, .gaps = 1}));
  EXPECT_EQ(table.total(), (SeqCounters{.received = 13, .missing = 1, .gaps = 1}));
}

}  // namespace
}  // namespace ferry::bench::gen
