#include "report/tables.h"

#include <cmath>
#include <sstream>

#include "report/format.h"
#include "report/svg.h"

namespace skintriage::report {

using nlohmann::json;

namespace {

const std::vector<std::string> kMacroKeys{"accuracy", "auroc_macro", "sensitivity_macro", "specificity_macro",
                                          "precision_macro"};
const std::vector<std::string> kMacroNames{"Accuracy", "Mean AUROC", "Mean sensitivity", "Mean specificity",
                                           "Mean precision"};

// Class names of a metrics object: its "classes" array, else the per_class keys in management order.
std::vector<std::string> classes_of(const json* m) {
  std::vector<std::string> out;
  if (!m) return out;
  if (const json* c = find(*m, {"classes"}); c && c->is_array()) {
    for (const auto& x : *c)
      if (x.is_string()) out.push_back(x.get<std::string>());
    if (!out.empty()) return out;
  }
  if (const json* pc = find(*m, {"per_class"}); pc && pc->is_object()) {
    for (const char* k : {"NONE", "CLNC", "EXC"})
      if (pc->contains(k)) out.push_back(k);
    for (auto it = pc->begin(); it != pc->end(); ++it) {
      bool seen = false;
      for (const auto& o : out) seen = seen || o == it.key();
      if (!seen) out.push_back(it.key());
    }
  }
  return out;
}

const json* official(const json& r, const std::string& model) { return find(r, {"official", model}); }

Cell cell(double v, int digits = 4) { return Cell{fmt(v, digits), ""}; }
Cell cell_ci(const json* m, const std::string& key) {
  if (!m) return Cell{kDash, ""};
  return Cell{fmt(number_at(*m, {key})), fmt_ci(find(*m, {"ci", key}))};
}
Cell count_cell(const json* m, const std::string& key) {
  double v = m ? number_at(*m, {key}) : NAN;
  return Cell{std::isfinite(v) ? fmt(v, 0) : kDash, ""};
}

}  // namespace

Table table_per_class(const json& r, const std::vector<std::string>& models, const std::string& id,
                      const std::string& caption) {
  Table t{id, caption, {"Class"}, {}, ""};
  std::vector<const json*> ms;
  std::vector<std::string> classes;
  for (const auto& name : models) {
    const json* m = official(r, name);
    if (!m) continue;
    ms.push_back(m);
    if (classes.empty()) classes = classes_of(m);
    for (const char* col : {"Sens", "Spec", "Prec", "AUROC"}) t.header.push_back(name + " " + col);
  }
  if (ms.empty()) return t;
  for (const auto& cls : classes) {
    std::vector<Cell> row{Cell{cls, ""}};
    for (const json* m : ms)
      for (const char* k : {"sensitivity", "specificity", "precision", "auroc"})
        row.push_back(cell(number_at(*m, {"per_class", cls, k})));
    t.rows.push_back(row);
  }
  std::vector<Cell> mean{Cell{"Mean", ""}};
  for (const json* m : ms)
    for (const char* k : {"sensitivity_macro", "specificity_macro", "precision_macro", "auroc_macro"})
      mean.push_back(cell(number_at(*m, {k})));
  t.rows.push_back(mean);
  t.note = "One-vs-rest per class on the test split; Mean = unweighted mean over the classes.";
  return t;
}

Table table_summary(const json& r, const std::vector<std::string>& models, const std::string& id,
                    const std::string& caption) {
  Table t{id, caption, {"Metric"}, {}, ""};
  std::vector<const json*> ms;
  for (const auto& name : models) {
    if (const json* m = official(r, name)) {
      ms.push_back(m);
      t.header.push_back(name);
    }
  }
  if (ms.empty()) return t;
  for (size_t i = 0; i < kMacroKeys.size(); ++i) {
    std::vector<Cell> row{Cell{kMacroNames[i], ""}};
    for (const json* m : ms) row.push_back(cell_ci(m, kMacroKeys[i]));
    t.rows.push_back(row);
  }
  std::vector<Cell> ox{Cell{"Over-excision (non-EXC predicted EXC)", ""}};
  for (const json* m : ms) ox.push_back(count_cell(m, "over_excision"));
  t.rows.push_back(ox);
  std::vector<Cell> n{Cell{"Test cases", ""}};
  for (const json* m : ms) n.push_back(count_cell(m, "n"));
  t.rows.push_back(n);
  t.note = "Brackets: 95% percentile bootstrap confidence interval (stratified by class) on the test split.";
  return t;
}

Table table_heads(const json& r, const std::string& model) {
  Table t{"table-heads", model + ": diagnosis and seven-point criteria heads (test split)",
          {"Head", "Classes", "Accuracy", "Mean AUROC"}, {}, ""};
  const json* heads = find(r, {"official", model, "heads"});
  if (!heads || !heads->is_object()) return t;
  auto add = [&](const std::string& name, const json& h) {
    std::string cls;
    for (const auto& c : classes_of(&h)) cls += (cls.empty() ? "" : ", ") + c;
    t.rows.push_back({Cell{name, ""}, Cell{cls, ""}, cell_ci(&h, "accuracy"), cell_ci(&h, "auroc_macro")});
  };
  // DIAG first, then the criteria in the order the file lists them.
  if (heads->contains("DIAG")) add("DIAG", (*heads)["DIAG"]);
  for (auto it = heads->begin(); it != heads->end(); ++it)
    if (it.key() != "DIAG" && it.key() != "MGMT") add(it.key(), it.value());
  return t;
}

Table table_ablation(const json& r) {
  Table t{"table-ablation", "Table 4: MGMT_multi trained on subsets of the inputs (test split)",
          {"Inputs", "Modalities", "Accuracy", "Mean AUROC", "Mean sens", "Mean spec", "Mean prec", "Over-excision"},
          {}, ""};
  const json* ab = find(r, {"official", "ablation"});
  if (!ab || !ab->is_object()) return t;
  for (const auto& in : ablation_inputs()) {
    const json* m = find(*ab, {in});
    if (!m) continue;
    t.rows.push_back({Cell{in, ""}, Cell{inputs_description(in), ""}, cell_ci(m, "accuracy"),
                      cell_ci(m, "auroc_macro"), cell(number_at(*m, {"sensitivity_macro"})),
                      cell(number_at(*m, {"specificity_macro"})), cell(number_at(*m, {"precision_macro"})),
                      count_cell(m, "over_excision")});
  }
  t.note = "C = clinical image, D = dermoscopic image, M = metadata; CDM is the MGMT_multi run itself.";
  return t;
}

Table table_cv(const json& r) {
  Table t{"table-cv", "Cross-validation: mean \xc2\xb1 std over folds", {"Model"}, {}, ""};
  for (const auto& n : kMacroNames) t.header.push_back(n);
  t.header.push_back("Over-excision");
  const json* cv = find(r, {"cv"});
  if (!cv) return t;
  size_t folds = 0;
  for (const auto& model : model_names()) {
    const json* s = find(*cv, {model});
    if (!s) continue;
    std::vector<Cell> row{Cell{model, ""}};
    for (const auto& k : kMacroKeys)
      row.push_back(Cell{fmt_pm(number_at(*s, {"mean", k}), number_at(*s, {"std", k})), ""});
    row.push_back(Cell{fmt_pm(number_at(*s, {"mean", "over_excision"}), number_at(*s, {"std", "over_excision"}), 1),
                       ""});
    if (const json* f = find(*s, {"folds"}); f && f->is_array()) folds = f->size();
    t.rows.push_back(row);
  }
  t.note = std::to_string(folds) +
           " folds stratified by management over all cases; validation carved from each training part; "
           "std is the sample standard deviation.";
  return t;
}

Table table_policy(const json& r) {
  Table t{"table-policy", "Decision policy operating point (EXC)",
          {"Model", "Split", "Policy", "Threshold", "EXC sensitivity", "Specificity", "Over-excision", "Accuracy"},
          {},
          ""};
  for (const auto& model : model_names()) {
    const json* m = official(r, model);
    const json* dp = m ? find(*m, {"decision_policy"}) : nullptr;
    if (!dp) continue;
    const json* op = find(*dp, {"operating_point"});
    if (!op) continue;
    double ox = number_at(*op, {"over_excision"}), others = number_at(*op, {"other_labelled"});
    t.rows.push_back({Cell{model, ""}, Cell{"official test", ""},
                      Cell{find(*dp, {"policy", "kind"}) ? find(*dp, {"policy", "kind"})->get<std::string>() : kDash, ""},
                      cell(number_at(*op, {"threshold"})), cell(number_at(*op, {"sensitivity"})),
                      cell(number_at(*op, {"specificity"})),
                      Cell{std::isfinite(ox) ? fmt(ox, 0) + " of " + fmt(others, 0) : kDash, ""},
                      cell(number_at(*op, {"accuracy"}))});
  }
  for (const auto& model : model_names()) {
    const json* s = find(r, {"cv", model, "decision_policy"});
    if (!s) continue;
    auto pm = [&](const char* k, int digits) {
      return Cell{fmt_pm(number_at(*s, {"mean", k}), number_at(*s, {"std", k}), digits), ""};
    };
    const json* kind = find(*s, {"policy"});
    t.rows.push_back({Cell{model, ""}, Cell{"CV mean \xc2\xb1 std", ""},
                      Cell{kind && kind->is_string() ? kind->get<std::string>() : kDash, ""}, pm("threshold", 4),
                      pm("sensitivity", 4), pm("specificity", 4), pm("over_excision", 1), pm("accuracy", 4)});
  }
  std::string how = "argmax (the most probable class)";
  if (const json* p = find(r, {"config", "policy"}); p && find(*p, {"kind"}) && (*p)["kind"] == "threshold") {
    if (const json* ms = find(*p, {"min_sensitivity"}); ms && ms->is_number() && find(*p, {"chosen_on"}))
      how = "excise whenever P(EXC) >= t, t chosen per model on its validation part as the largest threshold "
            "reaching excision sensitivity " + fmt(ms->get<double>(), 2);
    else
      how = "excise whenever P(EXC) >= " + fmt(number_at(*p, {"threshold"})) + " (fixed)";
  }
  t.note = "Decisions: " + how + ". Specificity: non-EXC cases not excised; over-excision: non-EXC cases decided EXC.";
  return t;
}

Table table_cv_folds(const json& r) {
  Table t{"table-folds", "Per-fold results (accuracy / mean AUROC)", {"Fold"}, {}, ""};
  const json* cv = find(r, {"cv"});
  if (!cv) return t;
  std::vector<const json*> folds;
  size_t nfolds = 0;
  for (const auto& model : model_names()) {
    const json* f = find(*cv, {model, "folds"});
    if (!f || !f->is_array()) continue;
    t.header.push_back(model);
    folds.push_back(f);
    nfolds = std::max(nfolds, f->size());
  }
  for (size_t k = 0; k < nfolds; ++k) {
    std::vector<Cell> row{Cell{std::to_string(k + 1), ""}};
    for (const json* f : folds) {
      if (k >= f->size()) {
        row.push_back(Cell{kDash, ""});
        continue;
      }
      const json& m = (*f)[k];
      row.push_back(Cell{fmt(number_at(m, {"accuracy"})) + " / " + fmt(number_at(m, {"auroc_macro"})), ""});
    }
    t.rows.push_back(row);
  }
  return t;
}

Table table_relative(const json& r) {
  Table t{"table-relative", "Relative improvements",
          {"Comparison", "Accuracy (official)", "Mean AUROC (official)", "Accuracy (CV)", "Mean AUROC (CV)"}, {}, ""};
  const json* rel = find(r, {"relative_improvement"});
  if (!rel) return t;
  for (const char* key : {"MGMT_pred_over_MGMT_infr", "MGMT_multi_over_MGMT_pred"}) {
    std::string label = key;
    label.replace(label.find("_over_"), 6, " over ");
    std::vector<Cell> row{Cell{label, ""}};
    for (const char* metric : {"accuracy", "auroc_macro"})
      row.push_back(Cell{fmt_percent(number_at(*rel, {"official", key, metric})), ""});
    for (const char* metric : {"accuracy", "auroc_macro"}) {
      double mean = number_at(*rel, {"cv", key, metric, "mean"});
      double sd = number_at(*rel, {"cv", key, metric, "std"});
      std::string text = fmt_percent(mean);
      if (std::isfinite(mean) && std::isfinite(sd)) text += " \xc2\xb1 " + fmt(sd * 100.0, 1) + " pp";
      row.push_back(Cell{text, ""});
    }
    t.rows.push_back(row);
  }
  t.note = "Relative improvement = new / old \xe2\x88\x92 1; for cross-validation the mean (\xc2\xb1 std) over "
           "folds of the per-fold ratio, as the paper reports it.";
  return t;
}

Table table_paired(const json& r) {
  Table t{"table-paired", "Paired tests on the official test split",
          {"Comparison", "n", "Only A correct", "Only B correct", "McNemar exact p", "McNemar mid-p",
           "DeLong p (NONE / CLNC / EXC)"},
          {}, ""};
  const json* tests = find(r, {"paired_tests"});
  if (!tests || !tests->is_array()) return t;
  for (const auto& pt : *tests) {
    std::string a = pt.value("a", std::string("?")), b = pt.value("b", std::string("?"));
    std::string delong;
    if (const json* d = find(pt, {"delong"}); d && d->is_object()) {
      std::vector<std::string> order;
      for (const char* k : {"NONE", "CLNC", "EXC"})
        if (d->contains(k)) order.push_back(k);
      for (auto it = d->begin(); it != d->end(); ++it) {
        bool seen = false;
        for (const auto& o : order) seen = seen || o == it.key();
        if (!seen) order.push_back(it.key());
      }
      for (const auto& k : order) {
        const json& e = (*d)[k];
        delong += (delong.empty() ? "" : " / ") + fmt(number_at(e, {"p"}), 4) + " (\xce\x94" +
                  fmt(number_at(e, {"auc_a"}) - number_at(e, {"auc_b"}), 3) + ")";
      }
    }
    t.rows.push_back({Cell{"A = " + a + ", B = " + b, ""}, count_cell(&pt, "n"),
                      count_cell(find(pt, {"mcnemar"}), "a_only_correct"),
                      count_cell(find(pt, {"mcnemar"}), "b_only_correct"),
                      cell(number_at(pt, {"mcnemar", "p_exact"})), cell(number_at(pt, {"mcnemar", "p_midp"})),
                      Cell{delong.empty() ? kDash : delong, ""}});
  }
  t.note = "McNemar on per-case correctness (exact binomial two-sided, and mid-p); DeLong's test for the "
           "difference of two correlated AUROCs, one-vs-rest per class (\xce\x94 = AUROC A \xe2\x88\x92 AUROC B).";
  return t;
}

Table table_seeds(const json& r) {
  Table t{"table-seeds", "Variation over training seeds (official split)", {"Model", "Seeds"}, {}, ""};
  for (const auto& n : kMacroNames) t.header.push_back(n);
  std::vector<std::pair<std::string, const json*>> rows;
  for (const auto& model : model_names()) rows.push_back({model, find(r, {"official", model, "seeds"})});
  if (const json* ab = find(r, {"official", "ablation"}); ab && ab->is_object())
    for (const auto& in : ablation_inputs()) rows.push_back({"ablation " + in, find(*ab, {in, "seeds"})});
  for (const auto& [name, s] : rows) {
    if (!s) continue;
    double k = number_at(*s, {"count"});
    if (!(k > 1)) continue;
    std::vector<Cell> row{Cell{name, ""}, Cell{fmt(k, 0), ""}};
    for (const auto& key : kMacroKeys)
      row.push_back(Cell{fmt_pm(number_at(*s, {"mean", key}), number_at(*s, {"std", key})), ""});
    t.rows.push_back(row);
  }
  t.note = "Each training repeated with different seeds; the tables above score the ensemble (mean probabilities).";
  return t;
}

Table table_paper_gap(const json& r) {
  Table t{"table-paper", "Comparison with the published numbers", {"Quantity", "This run", "Paper", "Gap"}, {}, ""};
  const json* paper = find(r, {"paper"});
  if (!paper) return t;
  auto add = [&](const std::string& label, double ours, double theirs, int digits) {
    t.rows.push_back({Cell{label, ""}, Cell{fmt(ours, digits), ""}, Cell{fmt(theirs, digits), ""},
                      Cell{std::isfinite(ours) && std::isfinite(theirs) ? fmt(ours - theirs, digits) : kDash, ""}});
  };
  for (const auto& model : model_names()) {
    add(model + " accuracy (official)", number_at(r, {"official", model, "accuracy"}),
        number_at(*paper, {"official", model, "accuracy"}), 4);
    add(model + " mean AUROC (official)", number_at(r, {"official", model, "auroc_macro"}),
        number_at(*paper, {"official", model, "auroc_macro"}), 4);
  }
  for (const auto& model : model_names())
    add(model + " accuracy (CV mean)", number_at(r, {"cv", model, "mean", "accuracy"}),
        number_at(*paper, {"cv", model, "accuracy"}), 4);
  if (const json* ab = find(r, {"official", "ablation"}); ab && ab->is_object()) {
    double lo = INFINITY, hi = -INFINITY;
    for (auto it = ab->begin(); it != ab->end(); ++it) {
      double a = number_at(it.value(), {"accuracy"});
      if (std::isfinite(a)) lo = std::min(lo, a), hi = std::max(hi, a);
    }
    add("Ablation: worst accuracy", std::isfinite(lo) ? lo : NAN, number_at(*paper, {"ablation", "accuracy_min"}), 4);
    add("Ablation: best accuracy", std::isfinite(hi) ? hi : NAN, number_at(*paper, {"ablation", "accuracy_max"}), 4);
  }
  double infr_ox = number_at(r, {"official", "MGMT_infr", "over_excision"});
  double pred_ox = number_at(r, {"official", "MGMT_pred", "over_excision"});
  double n = number_at(r, {"official", "MGMT_pred", "n"});
  double paper_n = number_at(*paper, {"test_cases"});
  std::string ours = std::isfinite(infr_ox) && std::isfinite(pred_ox)
                         ? fmt(infr_ox - pred_ox, 0) + " of " + fmt(n, 0)
                         : std::string(kDash);
  std::string theirs = fmt(number_at(*paper, {"over_excision_reduction"}), 0) + " of " + fmt(paper_n, 0);
  t.rows.push_back({Cell{"Fewer wrong excisions, MGMT_pred vs MGMT_infr", ""}, Cell{ours, ""}, Cell{theirs, ""},
                    Cell{kDash, ""}});
  t.note = "Gap = this run \xe2\x88\x92 paper. The paper's numbers come from the real derm7pt release; on any other "
           "data (e.g. the synthetic release) the gap only shows the scale of the difference.";
  return t;
}

Table table_data(const json& r) {
  Table t{"table-data", "Data", {"Split", "Cases"}, {}, ""};
  const json* splits = find(r, {"data", "splits"});
  if (!splits || !splits->is_object()) return t;
  std::vector<std::string> classes{"NONE", "CLNC", "EXC"};
  // Management class counts per split (data check's "management" object).
  const char* counts_key = find(r, {"data", "management"}) ? "management" : "class_counts";
  for (const auto& c : classes) t.header.push_back(c);
  for (const char* s : {"train", "valid", "test"}) {
    if (!splits->contains(s)) continue;
    std::vector<Cell> row{Cell{s, ""}, count_cell(splits, s)};
    for (const auto& c : classes) row.push_back(count_cell(find(r, {"data", counts_key, s}), c));
    t.rows.push_back(row);
  }
  std::vector<Cell> all{Cell{"all", ""}, count_cell(find(r, {"data"}), "cases")};
  for (const auto& c : classes) all.push_back(count_cell(find(r, {"data", counts_key, "all"}), c));
  t.rows.push_back(all);
  return t;
}

std::string render_markdown(const Table& t) {
  if (t.empty()) return "";
  std::ostringstream s;
  s << "**" << t.caption << "**\n\n|";
  for (const auto& h : t.header) s << " " << h << " |";
  s << "\n|";
  for (size_t i = 0; i < t.header.size(); ++i) s << (i == 0 ? "---|" : "---:|");
  s << "\n";
  for (const auto& row : t.rows) {
    s << "|";
    for (const auto& c : row) {
      std::string text = c.text;
      for (auto& ch : text)
        if (ch == '|') ch = '/';
      s << " " << text << (c.ci.empty() ? "" : " " + c.ci) << " |";
    }
    s << "\n";
  }
  if (!t.note.empty()) s << "\n*" << t.note << "*\n";
  s << "\n";
  return s.str();
}

std::string render_html(const Table& t) {
  if (t.empty()) return "";
  std::ostringstream s;
  s << "<table id=\"" << html_escape(t.id) << "\" class=\"metrics\"><caption>" << html_escape(t.caption)
    << "</caption><thead><tr>";
  for (const auto& h : t.header) s << "<th>" << html_escape(h) << "</th>";
  s << "</tr></thead><tbody>";
  for (const auto& row : t.rows) {
    s << "<tr>";
    for (size_t i = 0; i < row.size(); ++i) {
      s << (i == 0 ? "<th scope=\"row\">" : "<td>") << html_escape(row[i].text);
      if (!row[i].ci.empty()) s << "<br><span class=\"ci\">" << html_escape(row[i].ci) << "</span>";
      s << (i == 0 ? "</th>" : "</td>");
    }
    s << "</tr>";
  }
  s << "</tbody></table>";
  if (!t.note.empty()) s << "<p class=\"note\">" << html_escape(t.note) << "</p>";
  return s.str();
}

}  // namespace skintriage::report
