// Aligned text tables for ferryctl output: columns sized to their widest
// cell, two spaces apart, header in capitals. Numbers are right-aligned.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ferry::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // A row with as many cells as headers (missing cells print empty).
  void add_row(std::vector<std::string> cells);
  [[nodiscard]] bool empty() const { return rows_.empty(); }

  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ferry::ctl
