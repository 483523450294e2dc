#include "control/ferryctl/table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace ferry::ctl {
namespace {

TEST(Table, AlignsColumnsAndRightAlignsNumbers) {
  Table t({"vni", "mac", "packets"});
  t.add_row({"100", "02:00:00:00:00:01", "5"});
  t.add_row({"4242", "02:00:00:00:00:02", "12345"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(),
            " VNI  MAC                PACKETS\n"
            " 100  02:00:00:00:00:01        5\n"
            "4242  02:00:00:00:00:02    12345\n");
}

TEST(Table, EmptyTablePrintsHeaderOnly) {
  Table t({"name", "value"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(), "NAME  VALUE\n");
  EXPECT_TRUE(t.empty());
}

TEST(Table, ShortRowsArePadded) {
  Table t({"a", "b"});
  t.add_row({"x"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(), "A  B\nx\n");
}

}  // namespace
}  // namespace ferry::ctl
