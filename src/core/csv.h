// The one CSV reader of the project (RFC 4180: quoted fields, doubled quotes, CRLF or LF,
// embedded newlines inside quotes).
//
// Every row remembers its 1-based line number in the file so that errors can point at it.
// A row whose field count differs from the header's is an InputError naming file and line.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace skintriage {

struct CsvRow {
  long line = 0;                    ///< 1-based line number where the row starts
  std::vector<std::string> fields;  ///< one string per header column
  bool malformed = false;           ///< lenient parse only: wrong field count (fields padded/cut to the header)
};

struct CsvTable {
  std::string path;                 ///< file it was read from (for error messages)
  std::vector<std::string> header;  ///< column names, surrounding whitespace trimmed
  std::vector<CsvRow> rows;

  /// Index of a column, or -1 when absent.
  int column(const std::string& name) const;
  /// Index of a column; InputError naming the file when absent.
  int require_column(const std::string& name) const;
  /// Field of row `r` in column `c`.
  const std::string& at(size_t r, int c) const { return rows[r].fields[static_cast<size_t>(c)]; }
};

/// Parses CSV text; `path` is only used in messages.
CsvTable parse_csv(const std::string& text, const std::string& path);
/// Lenient variant for loaders that report every problem in one pass: a row with the wrong field
/// count is appended to `errors` (file + line) and kept with `malformed` set, so row positions hold.
CsvTable parse_csv(const std::string& text, const std::string& path, std::vector<std::string>* errors);
/// Reads and parses a CSV file; InputError when it cannot be read.
CsvTable read_csv(const std::string& path);

/// Quotes a field for writing when it holds a comma, quote or newline.
std::string csv_escape(const std::string& field);
/// Joins fields into one CSV line (no newline).
std::string csv_line(const std::vector<std::string>& fields);

}  // namespace skintriage
