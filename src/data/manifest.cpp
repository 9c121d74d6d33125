#include "data/manifest.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/derm7pt_vocab.h"
#include "data/verify.h"
#include "data/finish_load.h"

namespace fs = std::filesystem;

namespace skintriage {

const std::vector<std::string>& manifest_reserved_columns() {
  static const std::vector<std::string> v = {"case", "id", "clinic", "derm", "sex", "location", "elevation", "split"};
  return v;
}

static bool is_reserved(const std::string& name) {
  const auto& r = manifest_reserved_columns();
  return std::find(r.begin(), r.end(), name) != r.end();
}

// An image path of the manifest: absolute as written, relative to the manifest's folder otherwise,
// with the case-insensitive fallback. "" when not found.
static std::string resolve_image(const std::string& base, const std::string& value) {
  if (!value.empty() && value[0] == '/') return file_exists(value) ? value : resolve_case_insensitive("/", value.substr(1));
  return resolve_case_insensitive(base, value);
}

static std::string resolve_aside(const std::string& base, const std::string& value) {
  if (!value.empty() && value[0] == '/') return value;
  return join_path(base, value);
}

Dataset load_manifest(const std::string& csv_path, const DataOptions& options, std::vector<std::string>* errors_out) {
  std::vector<std::string> errs;
  Dataset data;
  data.source = csv_path;
  data.format = "manifest";
  data.crop_border = options.crop_border < 0 ? 0 : options.crop_border;
  // Every return goes through here, so `data` is never used after it is moved out.
  auto finish = [&]() { return finish_load(std::move(data), errs, errors_out); };

  CsvTable table;
  try {
    table = parse_csv(read_text_file(csv_path), csv_path, &errs);
  } catch (const InputError& e) {
    errs.push_back(e.what());
    return finish();
  }
  std::string base = fs::path(csv_path).parent_path().string();
  if (base.empty()) base = ".";

  int id_col = table.column("case");
  if (id_col < 0) id_col = table.column("id");
  int clinic_col = table.column("clinic");
  int derm_col = table.column("derm");
  int split_col = table.column("split");
  int sex_col = table.column("sex"), loc_col = table.column("location"), elev_col = table.column("elevation");
  if (id_col < 0) errs.push_back(located(csv_path, 1, "", "missing column 'case' (or 'id')"));
  if (clinic_col < 0 && derm_col < 0) errs.push_back(located(csv_path, 1, "", "no image column ('clinic' or 'derm')"));
  {
    std::set<std::string> names;
    for (const auto& h : table.header) {
      if (h.empty()) errs.push_back(located(csv_path, 1, "", "empty column name"));
      if (!names.insert(h).second) errs.push_back(located(csv_path, 1, "", "duplicate column '" + h + "'"));
    }
  }

  // Label columns: named explicitly, or every non-reserved column.
  std::vector<int> label_cols;
  if (!options.label_columns.empty()) {
    for (const auto& name : options.label_columns) {
      int c = table.column(name);
      if (c < 0)
        errs.push_back(located(csv_path, 1, "", "label column '" + name + "' not found"));
      else if (is_reserved(name))
        errs.push_back(located(csv_path, 1, "", "column '" + name + "' is not a label (reserved name)"));
      else
        label_cols.push_back(c);
    }
  } else {
    for (size_t c = 0; c < table.header.size(); ++c)
      if (!is_reserved(table.header[c]) && !table.header[c].empty()) label_cols.push_back(static_cast<int>(c));
  }
  if (id_col < 0 || (clinic_col < 0 && derm_col < 0)) return finish();

  // Classes of each label head: its distinct non-empty values, as text. A column named after a
  // derm7pt head whose values all belong to that head keeps derm7pt's class order (MGMT: NONE,CLNC,EXC).
  for (int c : label_cols) {
    std::set<std::string> values;
    for (const auto& row : table.rows)
      if (!row.malformed && !trim(row.fields[static_cast<size_t>(c)]).empty())
        values.insert(trim(row.fields[static_cast<size_t>(c)]));
    HeadSpec head{table.header[static_cast<size_t>(c)], {values.begin(), values.end()}};
    for (const auto& d : derm7pt_heads()) {
      if (d.name != head.name) continue;
      bool all_known = std::all_of(values.begin(), values.end(), [&](const std::string& v) { return d.index_of(v) >= 0; });
      if (all_known) head.classes = d.classes;
    }
    if (head.classes.empty())
      errs.push_back(located(csv_path, 1, head.name, "label column has no values"));
    data.heads.push_back(head);
  }

  const bool has_meta_cols = sex_col >= 0 || loc_col >= 0 || elev_col >= 0;
  std::map<std::string, size_t> seen;
  std::vector<std::pair<std::string, std::string>> to_verify;
  const std::vector<std::string> split_names = {"train", "valid", "test"};
  std::map<std::string, std::vector<int>> column_splits;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const CsvRow& row = table.rows[i];
    Case c;
    c.row = static_cast<int>(i);
    for (size_t k = 0; k < table.header.size(); ++k) c.raw[table.header[k]] = row.fields[k];
    auto field = [&](int col) { return col < 0 ? std::string() : trim(row.fields[static_cast<size_t>(col)]); };
    auto error_at = [&](int col, const std::string& message) {
      errs.push_back(located(csv_path, row.line, col < 0 ? "" : table.header[static_cast<size_t>(col)],
                             "row " + std::to_string(i) + ": " + message));
    };
    c.id = field(id_col);
    if (row.malformed) {
      data.cases.push_back(c);
      continue;
    }
    if (c.id.empty()) {
      error_at(id_col, "empty case id");
    } else if (seen.count(c.id)) {
      error_at(id_col, "duplicate case id '" + c.id + "' (also row " + std::to_string(seen[c.id]) + ")");
    } else {
      seen[c.id] = i;
    }

    std::string clinic = field(clinic_col), derm = field(derm_col);
    if (clinic.empty() && derm.empty()) error_at(derm_col >= 0 ? derm_col : clinic_col, "no image (clinic and derm both empty)");
    auto resolve = [&](int col, const std::string& rel) {
      std::string p = resolve_image(base, rel);
      if (p.empty())
        error_at(col, "image file not found: " + resolve_aside(base, rel));
      else if (options.verify_images)
        to_verify.push_back({p, located(csv_path, row.line, table.header[static_cast<size_t>(col)],
                                        "row " + std::to_string(i))});
      return p;
    };
    if (!derm.empty()) c.derm_path = resolve(derm_col, derm);
    if (!clinic.empty() && clinic != derm) c.clinic_path = resolve(clinic_col, clinic);

    if (has_meta_cols) {
      auto known = [](const std::string& v) { return v == "unknown" ? std::string() : v; };
      std::string sex = known(field(sex_col)), loc = known(field(loc_col)), elev = known(field(elev_col));
      try {
        c.meta = meta_one_hot(sex, loc, elev);
        c.has_meta = !(sex.empty() && loc.empty() && elev.empty());
      } catch (const InputError& e) {
        std::string msg = e.what();
        std::string name = msg.substr(0, msg.find(':'));
        error_at(table.column(name), msg.substr(msg.find(':') + 2));
      }
    }

    for (size_t h = 0; h < label_cols.size(); ++h) {
      std::string v = field(label_cols[h]);
      if (v.empty()) continue;  // unlabeled for this head
      int idx = data.heads[h].index_of(v);
      if (idx >= 0) c.labels[data.heads[h].name] = idx;
    }

    if (split_col >= 0) {
      std::string s = field(split_col);
      if (std::find(split_names.begin(), split_names.end(), s) != split_names.end())
        column_splits[s].push_back(static_cast<int>(i));
      else if (!s.empty())
        error_at(split_col, "unknown split '" + s + "' (expected train, valid or test)");
    }
    data.cases.push_back(c);
  }
  if (!to_verify.empty())
    for (auto& e : verify_images(to_verify, 0)) errs.push_back(e);

  if (split_col >= 0 && !options.split_files.empty()) {
    errs.push_back(csv_path + ": both a 'split' column and split files were given; use one");
  } else if (split_col >= 0) {
    data.splits = column_splits;
  } else if (!options.split_files.empty()) {
    std::map<std::string, int> by_id;
    for (size_t i = 0; i < data.cases.size(); ++i) by_id[data.cases[i].id] = static_cast<int>(i);
    std::map<int, std::string> owner;
    // train, valid, test first (so a duplicate is reported in the later split), then any others.
    std::vector<std::pair<std::string, std::string>> ordered;
    for (const char* known : {"train", "valid", "test"})
      if (options.split_files.count(known)) ordered.push_back({known, options.split_files.at(known)});
    for (const auto& kv : options.split_files)
      if (kv.first != "train" && kv.first != "valid" && kv.first != "test") ordered.push_back(kv);
    for (const auto& [name, file] : ordered) {
      std::string path = resolve_aside(base, file);
      if (!file_exists(path) && file_exists(file)) path = file;
      CsvTable st;
      try {
        st = parse_csv(read_text_file(path), path, &errs);
      } catch (const InputError& e) {
        errs.push_back(e.what());
        continue;
      }
      int idc = st.column("case");
      if (idc < 0) idc = st.column("id");
      int ixc = st.column("indexes");
      if (idc < 0 && ixc < 0) {
        errs.push_back(located(path, 1, "", "split file needs a 'case', 'id' or 'indexes' column"));
        continue;
      }
      auto& positions = data.splits[name];
      for (size_t r = 0; r < st.rows.size(); ++r) {
        if (st.rows[r].malformed) continue;
        int pos = -1;
        if (idc >= 0) {
          std::string id = trim(st.at(r, idc));
          auto it = by_id.find(id);
          if (it == by_id.end()) {
            errs.push_back(located(path, st.rows[r].line, st.header[static_cast<size_t>(idc)],
                                   "case '" + id + "' is not in the manifest"));
            continue;
          }
          pos = it->second;
        } else {
          long v = 0;
          if (!parse_int(st.at(r, ixc), v) || v < 0 || v >= static_cast<long>(data.cases.size())) {
            errs.push_back(located(path, st.rows[r].line, "indexes",
                                   "index '" + st.at(r, ixc) + "' out of range (manifest has " +
                                       std::to_string(data.cases.size()) + " rows, 0-based)"));
            continue;
          }
          pos = static_cast<int>(v);
        }
        if (owner.count(pos)) {
          errs.push_back(located(path, st.rows[r].line, "",
                                 "case '" + data.cases[static_cast<size_t>(pos)].id + "' duplicated (already in split '" +
                                     owner[pos] + "')"));
          continue;
        }
        owner[pos] = name;
        positions.push_back(pos);
      }
    }
  } else {
    // No split information: every case in one split named "all" (e.g. for prediction).
    auto& all = data.splits["all"];
    for (size_t i = 0; i < data.cases.size(); ++i) all.push_back(static_cast<int>(i));
  }
  return finish();
}

}  // namespace skintriage
