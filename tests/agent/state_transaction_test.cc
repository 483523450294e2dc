// StateTransaction: what a request changed is saved before it answers, and
// a failure puts back exactly the entries it touched, in memory and on disk.
#include "control/agent/state_transaction.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "control/agent/state_file.h"

namespace ferry::agent {
namespace {

class StateTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/ferry-state-tx-test-" + std::to_string(::getpid());
    ASSERT_TRUE(ensure_dir(dir_));
    LocalState s;
    s.networks["blue"] = NetworkRecord{"blue", 42, "10.10.0.0/24", {}};
    LocalEndpoint ep;
    ep.id = "e1";
    ep.name = "c1";
    ep.network = "blue";
    ep.mac = *parse_mac("02:00:00:00:00:01");
    ep.ip = *parse_prefix("10.10.0.2/24");
    s.endpoints["c1"] = ep;
    ASSERT_TRUE(s.save(dir_));
    before_ = s;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  LocalState before_;
};

TEST_F(StateTransactionTest, PersistedChangeIsOnDisk) {
  StateStore store(dir_, before_);
  {
    StateTransaction tx(store);
    tx.endpoint("c1").joined = false;
    tx.network("red") = NetworkRecord{"red", 43, "10.11.0.0/24", {}};
    ASSERT_TRUE(tx.persist());
    tx.commit();
  }
  EXPECT_FALSE(store.state().endpoints.at("c1").joined);
  auto loaded = LocalState::load(dir_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, store.state());
}

TEST_F(StateTransactionTest, RollBackAfterPersistRestoresMemoryAndFile) {
  StateStore store(dir_, before_);
  {
    StateTransaction tx(store);
    tx.erase_endpoint("c1");
    tx.endpoint("c2").name = "c2";
    tx.endpoint("c2").network = "blue";
    tx.network("blue").vni = 99;
    ASSERT_TRUE(tx.persist());
    tx.roll_back();  // a later step (the veth, the record) failed
  }
  EXPECT_EQ(store.state(), before_);
  auto loaded = LocalState::load(dir_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, before_);
}

TEST_F(StateTransactionTest, EarlyReturnWithoutCommitRollsBack) {
  StateStore store(dir_, before_);
  {
    StateTransaction tx(store);
    tx.endpoint("c1").ip = *parse_prefix("10.10.0.3/24");
    tx.erase_network("blue");
  }
  EXPECT_EQ(store.state(), before_);
}

TEST_F(StateTransactionTest, FailedSaveRollsBackAtOnce) {
  StateStore store(dir_ + "/missing/dir", before_);
  StateTransaction tx(store);
  tx.erase_endpoint("c1");
  EXPECT_FALSE(tx.persist());
  EXPECT_EQ(store.state(), before_);
}

}  // namespace
}  // namespace ferry::agent
