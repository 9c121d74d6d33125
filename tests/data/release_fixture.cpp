#include "release_fixture.h"

#include "core/csv.h"
#include "core/files.h"
#include "data/derm7pt.h"
#include "data/synth.h"
#include "test_util.h"

namespace skintriage::testdata {

std::string make_release(const std::string& tag, int cases, unsigned seed) {
  std::string dir = testutil::temp_dir(tag);
  SynthOptions o;
  o.cases = cases;
  o.seed = seed;
  o.width = 192;
  o.height = 128;
  o.threads = 2;
  write_synthetic_release(dir, o);
  return dir;
}

std::vector<std::vector<std::string>> read_meta(const std::string& release) {
  CsvTable t = read_csv(release + "/meta/meta.csv");
  std::vector<std::vector<std::string>> rows = {t.header};
  for (auto& r : t.rows) rows.push_back(r.fields);
  return rows;
}

void write_meta(const std::string& release, const std::vector<std::vector<std::string>>& rows) {
  std::string text;
  for (const auto& r : rows) text += csv_line(r) + "\n";
  write_file_atomic(release + "/meta/meta.csv", text);
}

int meta_col(const std::string& name) {
  const auto& cols = derm7pt_columns();
  for (size_t i = 0; i < cols.size(); ++i)
    if (cols[i] == name) return static_cast<int>(i);
  return -1;
}

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

int count_matching(const std::vector<std::string>& errors, const std::vector<std::string>& parts) {
  int n = 0;
  for (const auto& e : errors) {
    bool all = true;
    for (const auto& p : parts) all = all && e.find(p) != std::string::npos;
    n += all ? 1 : 0;
  }
  return n;
}

}  // namespace skintriage::testdata
