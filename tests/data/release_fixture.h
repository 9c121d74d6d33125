// Small synthetic releases for the data tests, written at test time into temporary folders,
// and helpers to edit them (inject the errors the loader must report).
#pragma once
#include <string>
#include <vector>

namespace skintriage::testdata {

/// A fresh synthetic release (small images) in a new temp folder; returns its path.
std::string make_release(const std::string& tag, int cases, unsigned seed = 3);
/// meta.csv of a release as rows of fields (header first).
std::vector<std::vector<std::string>> read_meta(const std::string& release);
/// Writes rows (header first) back to meta.csv.
void write_meta(const std::string& release, const std::vector<std::vector<std::string>>& rows);
/// Column index in derm7pt's 19-column layout.
int meta_col(const std::string& name);
/// Concatenated error messages (for EXPECT output).
std::string joined(const std::vector<std::string>& errors);
/// Number of errors containing every one of `parts`.
int count_matching(const std::vector<std::string>& errors, const std::vector<std::string>& parts);

}  // namespace skintriage::testdata
