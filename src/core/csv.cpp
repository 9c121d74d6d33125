#include "core/csv.h"

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"

namespace skintriage {

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

int CsvTable::require_column(const std::string& name) const {
  int c = column(name);
  if (c < 0) throw InputError(located(path, 1, "", "missing column '" + name + "'"));
  return c;
}

CsvTable parse_csv(const std::string& text, const std::string& path) { return parse_csv(text, path, nullptr); }

CsvTable parse_csv(const std::string& text, const std::string& path, std::vector<std::string>* errors) {
  CsvTable table;
  table.path = path;
  std::vector<std::vector<std::string>> records;
  std::vector<long> record_lines;
  std::vector<std::string> fields;
  std::string field;
  bool in_quotes = false, field_started = false, any_in_record = false;
  long line = 1, record_line = 1;
  size_t i = 0;
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF)
    i = 3;  // UTF-8 byte order mark
  auto end_record = [&]() {
    fields.push_back(field);
    field.clear();
    // A line that is empty (no characters at all) is skipped, not an empty record.
    if (!(fields.size() == 1 && fields[0].empty() && !any_in_record)) {
      records.push_back(fields);
      record_lines.push_back(record_line);
    }
    fields.clear();
    any_in_record = false;
    field_started = false;
  };
  for (; i < text.size(); ++i) {
    char ch = text[i];
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (ch == '\n') ++line;
        field += ch;
      }
      continue;
    }
    if (ch == '"' && !field_started) {
      in_quotes = true;
      field_started = true;
      any_in_record = true;
    } else if (ch == ',') {
      fields.push_back(field);
      field.clear();
      field_started = false;
      any_in_record = true;
    } else if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;
    } else if (ch == '\n') {
      end_record();
      ++line;
      record_line = line;
    } else {
      field += ch;
      field_started = true;
      any_in_record = true;
    }
  }
  if (in_quotes) throw InputError(located(path, record_line, "", "unterminated quoted field"));
  if (!field.empty() || !fields.empty() || any_in_record) end_record();
  if (records.empty()) throw InputError(located(path, 0, "", "empty file (no header row)"));
  for (auto& h : records[0]) table.header.push_back(trim(h));
  for (size_t r = 1; r < records.size(); ++r) {
    bool malformed = records[r].size() != table.header.size();
    if (malformed) {
      std::string message = located(path, record_lines[r], "",
                                    "expected " + std::to_string(table.header.size()) + " fields, found " +
                                        std::to_string(records[r].size()));
      if (!errors) throw InputError(message);
      errors->push_back(message);
      records[r].resize(table.header.size());
    }
    table.rows.push_back(CsvRow{record_lines[r], std::move(records[r]), malformed});
  }
  return table;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_text_file(path), path); }

std::string csv_escape(const std::string& field) {
  if (field.find_first_of(",\"\n\r") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_escape(fields[i]);
  }
  return out;
}

}  // namespace skintriage
