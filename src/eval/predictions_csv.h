// The predictions CSV: the one file format for any model's outputs on labelled cases.
//
//   case,label,p_NONE,p_CLNC,p_EXC
//   Fhl001,EXC,0.1,0.2,0.7
//
// `case` is optional (it pairs the rows of two files for paired tests); `label` is a class name;
// one `p_<CLASS>` column per class, and the class order is the column order. Other columns are ignored.
// train/eval/experiment write it, `skintriage metrics` reads it. Every read error names file, line
// and column. Writes are atomic and probabilities are written with round-trip precision.
#pragma once
#include <string>
#include <vector>

namespace skintriage {

struct Predictions {
  std::string source;                      ///< file it was read from (messages only)
  std::vector<std::string> classes;        ///< from the p_<CLASS> columns, in column order
  std::vector<std::string> cases;          ///< case ids; empty when the file has no `case` column
  std::vector<int> labels;                 ///< class index per row
  std::vector<std::vector<double>> probs;  ///< [row][class]
  std::vector<long> lines;                 ///< 1-based line of each row in the source (0 when built in memory)

  size_t size() const { return labels.size(); }
  bool has_cases() const { return !cases.empty(); }
};

/// Reads and validates a predictions CSV: at least 2 p_ columns, at least one row, labels that are class
/// names, finite probabilities in [0, 1], unique non-empty case ids when a `case` column exists.
Predictions read_predictions_csv(const std::string& path);
/// Same from text (`path` only for messages).
Predictions parse_predictions_csv(const std::string& text, const std::string& path);
/// CSV text of predictions (case column only when `cases` is non-empty).
std::string predictions_csv_text(const Predictions& p);
/// Writes atomically.
void write_predictions_csv(const std::string& path, const Predictions& p);

/// Puts `b` in the row order of `a`: by `case` when both files have one (the sets of case ids must be equal),
/// by row when neither has one (the counts must be equal). InputError naming both files when the classes
/// differ, when only one file has cases, when ids do not match, or when a paired case has different labels.
Predictions align_predictions(const Predictions& a, const Predictions& b);

}  // namespace skintriage
