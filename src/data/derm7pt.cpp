#include "data/derm7pt.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/derm7pt_vocab.h"
#include "data/image.h"
#include "data/verify.h"
#include "data/finish_load.h"

namespace fs = std::filesystem;

namespace skintriage {

const std::vector<std::string>& derm7pt_columns() {
  static const std::vector<std::string> v = {"case_num",
                                             "diagnosis",
                                             "seven_point_score",
                                             "pigment_network",
                                             "streaks",
                                             "pigmentation",
                                             "regression_structures",
                                             "dots_and_globules",
                                             "blue_whitish_veil",
                                             "vascular_structures",
                                             "level_of_diagnostic_difficulty",
                                             "elevation",
                                             "location",
                                             "sex",
                                             "management",
                                             "clinic",
                                             "derm",
                                             "case_id",
                                             "notes"};
  return v;
}

const std::vector<std::string>& derm7pt_split_names() {
  static const std::vector<std::string> v = {"train", "valid", "test"};
  return v;
}

// A folder under `root` matched case-insensitively; "" when absent or ambiguous.
static std::string resolve_dir(const std::string& root, const std::string& name) {
  std::error_code ec;
  std::string exact = join_path(root, name);
  if (fs::is_directory(exact, ec)) return exact;
  std::string found;
  int matches = 0;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (to_lower(it->path().filename().string()) == to_lower(name) && fs::is_directory(it->path(), ec)) {
      found = it->path().string();
      ++matches;
    }
  }
  return matches == 1 ? found : "";
}

bool is_derm7pt_release(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  return !resolve_case_insensitive(dir, "meta/meta.csv").empty();
}

static std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + ("'" + v + "'");
  return out;
}

static std::string allowed_of(const ColumnVocab& v) {
  std::vector<std::string> raws;
  for (const auto& e : v.entries) raws.push_back(e.raw);
  return joined(raws);
}

// Compact "3, 7-9, 12" listing of sorted row numbers.
static std::string ranges(const std::vector<int>& rows) {
  std::string out;
  for (size_t i = 0; i < rows.size();) {
    size_t j = i;
    while (j + 1 < rows.size() && rows[j + 1] == rows[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(rows[i]);
    if (j > i) out += "-" + std::to_string(rows[j]);
    i = j + 1;
  }
  return out;
}

Dataset load_derm7pt(const std::string& dir, const DataOptions& options, std::vector<std::string>* errors_out) {
  std::vector<std::string> errs;
  Dataset data;
  data.source = dir;
  data.format = "derm7pt";
  data.heads = derm7pt_heads();
  data.crop_border = options.crop_border < 0 ? 25 : options.crop_border;

  // Every return goes through here, so `data` is never used after it is moved out.
  auto finish = [&]() { return finish_load(std::move(data), errs, errors_out); };

  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    errs.push_back(dir + ": not a folder (expected a derm7pt release with meta/meta.csv)");
    return finish();
  }
  std::string meta_dir = resolve_dir(dir, "meta");
  std::string meta_path = meta_dir.empty() ? "" : resolve_case_insensitive(meta_dir, "meta.csv");
  if (meta_path.empty()) {
    errs.push_back(join_path(dir, "meta/meta.csv") + ": file not found");
    return finish();
  }
  CsvTable table;
  try {
    table = parse_csv(read_text_file(meta_path), meta_path, &errs);
  } catch (const InputError& e) {
    errs.push_back(e.what());
    return finish();
  }
  std::map<std::string, int> col;
  for (const auto& name : derm7pt_columns()) {
    int c = table.column(name);
    if (c < 0)
      errs.push_back(located(meta_path, 1, "", "missing column '" + name + "'"));
    else
      col[name] = c;
  }
  if (col.size() != derm7pt_columns().size()) return finish();
  for (const auto& h : table.header)
    if (std::find(derm7pt_columns().begin(), derm7pt_columns().end(), h) == derm7pt_columns().end())
      errs.push_back(located(meta_path, 1, "", "unexpected column '" + h + "' (the release has 19 known columns)"));

  std::string images_root = resolve_dir(dir, "images");
  if (images_root.empty()) errs.push_back(join_path(dir, "images") + ": image folder not found");

  const size_t n = table.rows.size();
  data.cases.resize(n);
  std::map<std::string, size_t> seen_ids;
  std::vector<std::pair<std::string, std::string>> to_verify;  // path, what
  for (size_t i = 0; i < n; ++i) {
    const CsvRow& row = table.rows[i];
    Case& c = data.cases[i];
    c.row = static_cast<int>(i);
    for (size_t k = 0; k < table.header.size(); ++k) c.raw[table.header[k]] = row.fields[k];
    auto field = [&](const std::string& name) -> const std::string& { return row.fields[col[name]]; };
    c.id = trim(field("case_num"));
    if (row.malformed) continue;  // already reported with its line; its fields are not trustworthy
    const std::string where_row = "row " + std::to_string(i);
    auto error_at = [&](const std::string& column, const std::string& message) {
      errs.push_back(located(meta_path, row.line, column, where_row + ": " + message));
    };
    if (c.id.empty()) {
      error_at("case_num", "empty case number");
      c.id = "row" + std::to_string(i);
    } else if (seen_ids.count(c.id)) {
      error_at("case_num", "duplicate case number '" + c.id + "' (also row " + std::to_string(seen_ids[c.id]) + ")");
    } else {
      seen_ids[c.id] = i;
    }

    for (const auto& vocab : label_vocabs()) {
      const std::string& value = field(vocab.column);
      int idx = vocab.index_of(value);
      if (idx < 0)
        error_at(vocab.column, "unknown value '" + value + "' (expected one of: " + allowed_of(vocab) + ")");
      else
        c.labels[vocab.head] = idx;
    }
    const std::string& difficulty = field("level_of_diagnostic_difficulty");
    if (std::find(difficulty_values().begin(), difficulty_values().end(), difficulty) == difficulty_values().end())
      error_at("level_of_diagnostic_difficulty",
               "unknown value '" + difficulty + "' (expected one of: " + joined(difficulty_values()) + ")");

    RawCriteria rc{field("pigment_network"),   field("streaks"),           field("pigmentation"),
                   field("regression_structures"), field("dots_and_globules"), field("blue_whitish_veil"),
                   field("vascular_structures")};
    long score = 0;
    const std::string& score_text = field("seven_point_score");
    if (!parse_int(score_text, score) || score < 0 || score > 10) {
      error_at("seven_point_score", "not an integer 0..10: '" + score_text + "'");
    } else {
      int expected = seven_point_score(rc);
      if (expected >= 0 && expected != score)
        error_at("seven_point_score", "score " + std::to_string(score) + " does not match the criteria (which give " +
                                          std::to_string(expected) + ")");
    }

    bool meta_ok = true;
    for (const char* name : {"sex", "location", "elevation"})
      if (field(name).empty()) {
        error_at(name, "empty value");
        meta_ok = false;
      }
    if (meta_ok) {
      try {
        c.meta = meta_one_hot(field("sex"), field("location"), field("elevation"));
        c.has_meta = true;
      } catch (const InputError& e) {
        std::string msg = e.what();
        std::string column = msg.substr(0, msg.find(':'));
        error_at(column, msg.substr(msg.find(':') + 2));
      }
    }

    const std::string clinic = trim(field("clinic"));
    const std::string derm = trim(field("derm"));
    if (derm.empty()) error_at("derm", "empty dermoscopic image path");
    if (!images_root.empty()) {
      auto resolve = [&](const std::string& column, const std::string& rel) -> std::string {
        std::string p = resolve_case_insensitive(images_root, rel);
        if (p.empty())
          error_at(column, "image file not found: " + join_path(join_path(dir, "images"), rel));
        else if (options.verify_images)
          to_verify.push_back({p, located(meta_path, row.line, column, where_row)});
        return p;
      };
      if (!derm.empty()) c.derm_path = resolve("derm", derm);
      // The release lists the dermoscopic file as `clinic` when the clinical photo is missing.
      if (!clinic.empty() && clinic != derm) c.clinic_path = resolve("clinic", clinic);
    }
  }

  if (!to_verify.empty()) {
    for (auto& e : verify_images(to_verify, 0)) errs.push_back(e);
  }

  // Split index files: 0-based rows, together covering every row exactly once.
  std::vector<std::string> owner(n);
  for (const auto& split : derm7pt_split_names()) {
    std::string rel = split + "_indexes.csv";
    std::string path = meta_dir.empty() ? "" : resolve_case_insensitive(meta_dir, rel);
    if (path.empty()) {
      errs.push_back(join_path(join_path(dir, "meta"), rel) + ": split index file not found");
      continue;
    }
    CsvTable idx;
    try {
      idx = parse_csv(read_text_file(path), path, &errs);
    } catch (const InputError& e) {
      errs.push_back(e.what());
      continue;
    }
    int c = idx.column("indexes");
    if (c < 0) {
      errs.push_back(located(path, 1, "", "missing column 'indexes'"));
      continue;
    }
    std::vector<int>& positions = data.splits[split];
    for (size_t r = 0; r < idx.rows.size(); ++r) {
      if (idx.rows[r].malformed) continue;
      const std::string& text = idx.at(r, c);
      long v = 0;
      if (!parse_int(text, v)) {
        errs.push_back(located(path, idx.rows[r].line, "indexes", "not an integer: '" + text + "'"));
        continue;
      }
      if (v < 0 || v >= static_cast<long>(n)) {
        errs.push_back(located(path, idx.rows[r].line, "indexes",
                               "index " + std::to_string(v) + " out of range (meta.csv has " + std::to_string(n) +
                                   " rows, 0-based)"));
        continue;
      }
      if (!owner[static_cast<size_t>(v)].empty()) {
        errs.push_back(located(path, idx.rows[r].line, "indexes",
                               "index " + std::to_string(v) + " duplicated (already in " + owner[static_cast<size_t>(v)] +
                                   ")"));
        continue;
      }
      owner[static_cast<size_t>(v)] = split + "_indexes.csv";
      positions.push_back(static_cast<int>(v));
    }
  }
  std::vector<int> uncovered;
  for (size_t i = 0; i < n; ++i)
    if (owner[i].empty()) uncovered.push_back(static_cast<int>(i));
  if (!uncovered.empty() && data.splits.size() == derm7pt_split_names().size())
    errs.push_back(meta_path + ": " + std::to_string(uncovered.size()) +
                   " row(s) in no split index file: " + ranges(uncovered));
  return finish();
}

}  // namespace skintriage
