#include "eval/predictions_csv.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"

namespace skintriage {

namespace {

// Whole-field number parse; an underflow to a subnormal (e.g. 5e-324 written by a softmax) is accepted.
bool parse_probability(const std::string& field, double& out) {
  std::string t = trim(field);
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(t.c_str(), &end);
  if (*end != '\0') return false;
  if (errno == ERANGE && std::abs(v) >= 1) return false;
  out = v;
  return true;
}

std::string shortest(double v) {
  if (std::abs(v) < 1e-300) v = 0;  // keep written files free of subnormals
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

}  // namespace

Predictions parse_predictions_csv(const std::string& text, const std::string& path) {
  CsvTable t = parse_csv(text, path);
  Predictions p;
  p.source = path;
  int case_col = t.column("case");
  int label_col = t.column("label");
  if (label_col < 0) throw InputError(located(path, 1, "", "missing column 'label' (the true class name)"));
  std::vector<int> prob_cols;
  for (size_t c = 0; c < t.header.size(); ++c) {
    const std::string& h = t.header[c];
    if (starts_with(h, "p_")) {
      std::string cls = h.substr(2);
      if (cls.empty()) throw InputError(located(path, 1, h, "probability column without a class name"));
      for (const auto& seen : p.classes)
        if (seen == cls) throw InputError(located(path, 1, h, "duplicate probability column"));
      p.classes.push_back(cls);
      prob_cols.push_back(static_cast<int>(c));
    }
  }
  if (p.classes.size() < 2)
    throw InputError(located(path, 1, "",
                             "need at least 2 probability columns named p_<CLASS>, found " +
                                 std::to_string(p.classes.size())));
  if (t.rows.empty()) throw InputError(located(path, 0, "", "no prediction rows"));
  std::map<std::string, long> seen_case;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const long line = t.rows[r].line;
    if (case_col >= 0) {
      std::string id = trim(t.at(r, case_col));
      if (id.empty()) throw InputError(located(path, line, "case", "empty case id"));
      auto it = seen_case.find(id);
      if (it != seen_case.end())
        throw InputError(located(path, line, "case",
                                 "duplicate case id '" + id + "' (first on line " + std::to_string(it->second) + ")"));
      seen_case[id] = line;
      p.cases.push_back(id);
    }
    std::string label = trim(t.at(r, label_col));
    int li = -1;
    for (size_t c = 0; c < p.classes.size(); ++c)
      if (p.classes[c] == label) li = static_cast<int>(c);
    if (li < 0) {
      std::string known;
      for (const auto& c : p.classes) known += (known.empty() ? "" : ", ") + c;
      throw InputError(located(path, line, "label",
                               label.empty() ? "empty label" : "unknown class '" + label + "' (expected one of " + known + ")"));
    }
    p.labels.push_back(li);
    std::vector<double> row;
    for (size_t c = 0; c < prob_cols.size(); ++c) {
      const std::string& column = t.header[static_cast<size_t>(prob_cols[c])];
      const std::string& field = t.at(r, prob_cols[c]);
      double v = 0;
      if (!parse_probability(field, v))
        throw InputError(located(path, line, column, "'" + field + "' is not a number"));
      if (!std::isfinite(v)) throw InputError(located(path, line, column, "probability is not finite ('" + field + "')"));
      if (v < 0 || v > 1) throw InputError(located(path, line, column, "probability " + field + " outside [0, 1]"));
      row.push_back(v);
    }
    p.probs.push_back(std::move(row));
    p.lines.push_back(line);
  }
  return p;
}

Predictions read_predictions_csv(const std::string& path) { return parse_predictions_csv(read_text_file(path), path); }

std::string predictions_csv_text(const Predictions& p) {
  if (p.classes.size() < 2) throw InputError("predictions: need at least 2 classes to write");
  if (p.probs.size() != p.labels.size() || (!p.cases.empty() && p.cases.size() != p.labels.size()))
    throw InputError("predictions: cases, labels and probabilities differ in length");
  std::vector<std::string> header;
  if (!p.cases.empty()) header.push_back("case");
  header.push_back("label");
  for (const auto& c : p.classes) header.push_back("p_" + c);
  std::string out = csv_line(header) + "\n";
  for (size_t i = 0; i < p.labels.size(); ++i) {
    if (p.labels[i] < 0 || static_cast<size_t>(p.labels[i]) >= p.classes.size())
      throw InputError("predictions: row " + std::to_string(i) + ": label index out of range");
    if (p.probs[i].size() != p.classes.size())
      throw InputError("predictions: row " + std::to_string(i) + ": wrong number of probabilities");
    std::vector<std::string> fields;
    if (!p.cases.empty()) fields.push_back(p.cases[i]);
    fields.push_back(p.classes[static_cast<size_t>(p.labels[i])]);
    for (double v : p.probs[i]) fields.push_back(shortest(v));
    out += csv_line(fields) + "\n";
  }
  return out;
}

void write_predictions_csv(const std::string& path, const Predictions& p) {
  write_file_atomic(path, predictions_csv_text(p));
}

Predictions align_predictions(const Predictions& a, const Predictions& b) {
  const std::string both = "'" + a.source + "' and '" + b.source + "'";
  if (a.classes != b.classes) throw InputError(both + ": the class columns differ (p_<CLASS> names or order)");
  if (a.has_cases() != b.has_cases())
    throw InputError(both + ": only one file has a 'case' column; both or neither must have one to pair rows");
  if (a.size() != b.size())
    throw InputError(both + ": " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) +
                     " rows; paired tests need the same cases");
  Predictions out;
  out.source = b.source;
  out.classes = b.classes;
  if (!a.has_cases()) {
    out = b;
  } else {
    std::map<std::string, size_t> where;
    for (size_t i = 0; i < b.cases.size(); ++i) where[b.cases[i]] = i;
    for (size_t i = 0; i < a.cases.size(); ++i) {
      auto it = where.find(a.cases[i]);
      if (it == where.end())
        throw InputError(both + ": case '" + a.cases[i] + "' of the first file is missing from the second");
      size_t j = it->second;
      out.cases.push_back(b.cases[j]);
      out.labels.push_back(b.labels[j]);
      out.probs.push_back(b.probs[j]);
      out.lines.push_back(j < b.lines.size() ? b.lines[j] : 0);
    }
  }
  for (size_t i = 0; i < a.size(); ++i)
    if (a.labels[i] != out.labels[i]) {
      std::string which = a.has_cases() ? "case '" + a.cases[i] + "'" : "row " + std::to_string(i + 1);
      throw InputError(both + ": " + which + " has label " + a.classes[static_cast<size_t>(a.labels[i])] +
                       " in one file and " + out.classes[static_cast<size_t>(out.labels[i])] + " in the other");
    }
  return out;
}

}  // namespace skintriage
