// BlockMap: who owns each block of one pool, as a state-based CRDT. Each
// block holds a Record (version, owner, reclaimed); merging keeps, per block,
// the greatest record under one total order, so replicas that saw the same
// records agree whatever the order, loss or duplication of deliveries.
// Safety does not come from the merge but from who writes: only a block's
// current owner writes its next version (docs/ipam.md, "Why it never
// duplicates"); the allocator enforces that, the map only stores.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"

namespace ferry::ipam {

namespace v1 {
class Run;
}  // namespace v1

// Order: version, then owner, then reclaimed. Equal versions with different
// records only come from concurrent reclaims (two heirs); the tie-break makes
// every replica pick the same one.
struct Record {
  std::uint64_t version = 0;
  std::string owner;
  bool reclaimed = false;

  [[nodiscard]] std::strong_ordering compare(const Record& o) const;
  bool operator==(const Record& o) const { return std::is_eq(compare(o)); }
};

// Blocks [first, first + count) with one record.
struct Run {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  Record record;
  bool operator==(const Run&) const = default;
};

class BlockMap {
 public:
  BlockMap(std::uint32_t num_blocks, const std::string& genesis);

  [[nodiscard]] std::uint32_t size() const { return static_cast<std::uint32_t>(blocks_.size()); }
  [[nodiscard]] const Record& at(std::uint32_t block) const { return blocks_[block]; }
  [[nodiscard]] const std::string& owner(std::uint32_t block) const { return blocks_[block].owner; }

  // Stores `record` if it is greater than the block's; returns whether it did.
  bool merge(std::uint32_t block, const Record& record);
  // Merges every block of a run; returns how many changed.
  std::uint32_t merge(const Run& run);
  // Stores `record` unconditionally: only to undo this host's own write that
  // could not be persisted (it was never visible outside).
  void reset(std::uint32_t block, const Record& record) { set(block, record); }

  // The map as runs of equal records, in block order; genesis records
  // (version 0) are left out unless asked for.
  [[nodiscard]] std::vector<Run> runs(bool with_genesis = false) const;
  // Blocks owned by `owner`, ascending.
  [[nodiscard]] const std::set<std::uint32_t>& blocks_of(const std::string& owner) const;
  // Owner -> number of blocks.
  [[nodiscard]] std::map<std::string, std::uint32_t> owner_counts() const;
  [[nodiscard]] std::uint32_t count_of(const std::string& owner) const;
  [[nodiscard]] std::size_t num_owners() const { return by_owner_.size(); }
  // Order-independent digest of every record (xor of per-block hashes, kept
  // incrementally): equal maps have equal digests.
  [[nodiscard]] std::uint64_t digest() const { return digest_; }
  bool operator==(const BlockMap& o) const { return blocks_ == o.blocks_; }
  // Recomputes the owner index and the digest from the records and compares
  // (tests and fuzzing): every block has exactly one owner, listed once.
  [[nodiscard]] Result<void> check(const std::string& genesis) const;

 private:
  void set(std::uint32_t block, const Record& record);
  static std::uint64_t hash(std::uint32_t block, const Record& record);

  std::vector<Record> blocks_;
  std::uint64_t digest_ = 0;
  std::map<std::string, std::set<std::uint32_t>> by_owner_;
};

// Checks runs from the wire against a pool of `num_blocks` blocks: every run
// inside the pool, count >= 1, version >= 1, a valid owner name, sorted and
// disjoint. Either every run is returned or an error naming the first fault.
Result<std::vector<Run>> decode_runs(const std::vector<const v1::Run*>& wire, std::uint32_t num_blocks);
void encode_run(const Run& run, v1::Run& out);

}  // namespace ferry::ipam
