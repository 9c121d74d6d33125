#include "report/html_report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <numeric>
#include <sstream>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "eval/calibration.h"
#include "eval/metrics.h"
#include "eval/predictions_csv.h"
#include "report/format.h"
#include "report/svg.h"
#include "report/tables.h"

namespace skintriage::report {

using nlohmann::json;

namespace {

const char* kStyle = R"css(
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1240px;padding:16px 24px;color:#222;line-height:1.4}
h1{font-size:24px;margin:8px 0}h2{font-size:19px;margin-top:28px;border-bottom:1px solid #ccc;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
table.metrics{border-collapse:collapse;margin:8px 0 4px;font-size:13px}
table.metrics caption{text-align:left;font-weight:bold;padding:4px 0}
table.metrics th,table.metrics td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
table.metrics thead th{background:#f0f3f7;text-align:center}
table.metrics tbody th{text-align:left;background:#fafafa;font-weight:normal}
.ci{color:#666;font-size:11px}.note{color:#555;font-size:12px;margin:2px 0 12px}
.figs{display:flex;flex-wrap:wrap;gap:12px}.fig{border:1px solid #e3e3e3;padding:6px;background:#fff}
.fig p{margin:2px 0;font-size:12px;color:#444;max-width:380px}
table.confusion{border-collapse:collapse;font-size:13px;margin:4px}
table.confusion td,table.confusion th{border:1px solid #bbb;padding:4px 8px;text-align:center;min-width:44px}
table.confusion caption{font-size:12px;color:#444;padding:2px}
pre{background:#f6f8fa;padding:8px;font-size:12px;overflow:auto;max-height:420px}
nav#toc{background:#f6f8fa;padding:6px 12px;font-size:13px}nav#toc a{margin-right:14px}
.gap-warn{color:#8a5300}
)css";

// Inline JS: builds the table of contents from the section headings and marks the page as ready.
const char* kScript = R"js(
(function(){
  var toc=document.getElementById('toc');
  var secs=document.querySelectorAll('section[id]');
  for(var i=0;i<secs.length;i++){
    var h=secs[i].querySelector('h2');
    if(!h)continue;
    var a=document.createElement('a');
    a.href='#'+secs[i].id;a.textContent=h.textContent;a.className='toc-link';
    toc.appendChild(a);
  }
  document.body.setAttribute('data-ready','1');
})();
)js";

std::string artifact_path(const std::string& dir, const json* rel) {
  if (!rel || !rel->is_string()) return "";
  std::string p = rel->get<std::string>();
  if (p.empty()) return "";
  return p[0] == '/' ? p : join_path(dir, p);
}

std::string sanitize_id(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '-';
  return out;
}

std::string fig(const std::string& svg, const std::string& caption) {
  return "<div class=\"fig\">" + svg + (caption.empty() ? "" : "<p>" + html_escape(caption) + "</p>") + "</div>";
}

// The official models whose test predictions the results point at, in table order.
struct ModelPredictions {
  std::string model;
  Predictions predictions;
};

std::vector<ModelPredictions> load_model_predictions(const std::string& dir, const json& r) {
  std::vector<ModelPredictions> out;
  for (const auto& model : model_names()) {
    std::string path = artifact_path(dir, find(r, {"artifacts", "official", model, "predictions_test"}));
    if (path.empty()) continue;
    if (!file_exists(path))
      throw InputError(join_path(dir, "results.json") + ": artifacts.official." + model +
                       ".predictions_test: file not found: " + path);
    out.push_back({model, read_predictions_csv(path)});
  }
  return out;
}

std::string roc_section(const std::vector<ModelPredictions>& preds) {
  if (preds.empty()) return "";
  std::ostringstream s;
  s << "<section id=\"sec-roc\"><h2>ROC curves (test split)</h2><div class=\"figs\">";
  const auto& classes = preds.front().predictions.classes;
  for (size_t k = 0; k < classes.size(); ++k) {
    std::vector<Series> series;
    for (size_t m = 0; m < preds.size(); ++m) {
      const Predictions& p = preds[m].predictions;
      int idx = class_index(p.classes, classes[k]);
      if (idx < 0) continue;
      std::vector<bool> pos(p.size());
      std::vector<double> sc(p.size());
      for (size_t i = 0; i < p.size(); ++i) {
        pos[i] = p.labels[i] == idx;
        sc[i] = p.probs[i][static_cast<size_t>(idx)];
      }
      Series se;
      roc_points(pos, sc, se.x, se.y);
      double auc = auroc_binary(pos, sc);
      se.label = preds[m].model + " (AUC " + fmt(auc, 3) + ")";
      se.color = palette(m);
      series.push_back(se);
    }
    PlotOptions o;
    o.id = "roc-" + sanitize_id(classes[k]);
    o.title = "ROC: " + classes[k] + " vs rest";
    o.x_label = "1 - specificity (false positive rate)";
    o.y_label = "sensitivity (true positive rate)";
    o.diagonal = true;
    s << fig(svg_line_chart(series, o), "");
  }
  s << "</div><p class=\"note\">One-vs-rest ROC per management class; one curve per model; AUC in the legend "
       "(exact, ties counted as half). Dashed diagonal: chance.</p></section>";
  return s.str();
}

std::string confusion_table(const std::vector<std::vector<long>>& cm, const std::vector<std::string>& classes,
                            bool normalised, const std::string& id, const std::string& caption) {
  std::ostringstream s;
  s << "<table class=\"confusion\" id=\"" << html_escape(id) << "\"><caption>" << html_escape(caption)
    << "</caption><tr><th>true \\ predicted</th>";
  for (const auto& c : classes) s << "<th>" << html_escape(c) << "</th>";
  s << "</tr>";
  long max_count = 1;
  for (const auto& row : cm)
    for (long v : row) max_count = std::max(max_count, v);
  for (size_t i = 0; i < cm.size(); ++i) {
    long total = std::accumulate(cm[i].begin(), cm[i].end(), 0L);
    s << "<tr><th>" << html_escape(i < classes.size() ? classes[i] : std::to_string(i)) << "</th>";
    for (size_t j = 0; j < cm[i].size(); ++j) {
      double v = normalised ? (total > 0 ? static_cast<double>(cm[i][j]) / static_cast<double>(total) : NAN)
                            : static_cast<double>(cm[i][j]) / static_cast<double>(max_count);
      std::string text = normalised ? fmt(v, 2) : std::to_string(cm[i][j]);
      s << "<td style=\"background:" << heat_color(v) << ";color:" << heat_text_color(v) << "\">" << text
        << "</td>";
    }
    s << "</tr>";
  }
  s << "</table>";
  return s.str();
}

std::string confusion_section(const json& r) {
  std::ostringstream body;
  std::vector<std::pair<std::string, const json*>> entries;
  for (const auto& model : model_names()) entries.push_back({model, find(r, {"official", model})});
  bool any = false;
  for (const auto& [model, m] : entries) {
    if (!m) continue;
    const json* cm = find(*m, {"confusion"});
    if (!cm || !cm->is_array() || cm->empty()) continue;
    std::vector<std::vector<long>> counts;
    for (const auto& row : *cm) {
      std::vector<long> r2;
      if (row.is_array())
        for (const auto& v : row) r2.push_back(v.is_number() ? v.get<long>() : 0);
      counts.push_back(r2);
    }
    std::vector<std::string> classes;
    if (const json* c = find(*m, {"classes"}); c && c->is_array())
      for (const auto& x : *c) classes.push_back(x.is_string() ? x.get<std::string>() : "?");
    if (classes.size() != counts.size()) {
      classes.clear();
      const char* defaults[] = {"NONE", "CLNC", "EXC"};
      for (size_t i = 0; i < counts.size(); ++i) classes.push_back(i < 3 ? defaults[i] : std::to_string(i));
    }
    any = true;
    body << "<div class=\"fig\"><h3>" << html_escape(model) << "</h3><div class=\"figs\">"
         << confusion_table(counts, classes, false, "confusion-" + model + "-counts", "counts")
         << confusion_table(counts, classes, true, "confusion-" + model + "-normalised",
                            "row-normalised (rows sum to 1)")
         << "</div><p>Over-excision (non-EXC cases predicted EXC): "
         << fmt(number_at(*m, {"over_excision"}), 0) << "</p></div>";
  }
  if (!any) return "";
  return "<section id=\"sec-confusion\"><h2>Confusion matrices (test split)</h2><div class=\"figs\">" + body.str() +
         "</div></section>";
}

std::string calibration_section(const std::vector<ModelPredictions>& preds) {
  if (preds.empty()) return "";
  std::ostringstream s;
  s << "<section id=\"sec-calibration\"><h2>Calibration (test split)</h2><div class=\"figs\">";
  for (const auto& mp : preds) {
    const Predictions& p = mp.predictions;
    ReliabilityDiagram d = reliability_diagram(p.labels, p.probs, 10);
    ClassificationMetrics m = compute_metrics(p.labels, p.probs, p.classes);
    std::vector<ReliabilityBar> bars;
    for (const auto& b : d.bins) bars.push_back({b.lower, b.upper, b.mean_confidence, b.accuracy, b.count});
    PlotOptions o;
    o.id = "reliability-" + mp.model;
    o.title = "Reliability: " + mp.model;
    o.x_label = "top-label confidence";
    o.y_label = "accuracy";
    s << fig(svg_reliability(bars, o), "ECE (15 bins) " + fmt(m.ece, 3) + ", Brier " + fmt(m.brier, 3) +
                                           ", 10 bins drawn; dark strips: share of cases per bin.");
  }
  s << "</div></section>";
  return s.str();
}

struct RunLog {
  std::string label;
  std::vector<double> epoch, train_loss, valid_loss, valid_metric;
};

RunLog read_log(const std::string& path, const std::string& label) {
  CsvTable t = read_csv(path);
  RunLog log;
  log.label = label;
  int ce = t.require_column("epoch");
  int ct = t.require_column("train_loss");
  int cv = t.column("valid_loss");
  int cm = t.column("valid_metric");
  auto value = [&](size_t r, int c, const char* name) -> double {
    if (c < 0) return NAN;
    const std::string& f = t.at(r, c);
    double v;
    if (trim(f).empty() || to_lower(trim(f)) == "nan") return NAN;
    if (!parse_double(trim(f), v)) throw InputError(located(path, t.rows[r].line, name, "not a number: '" + f + "'"));
    return v;
  };
  for (size_t r = 0; r < t.rows.size(); ++r) {
    log.epoch.push_back(value(r, ce, "epoch"));
    log.train_loss.push_back(value(r, ct, "train_loss"));
    log.valid_loss.push_back(value(r, cv, "valid_loss"));
    log.valid_metric.push_back(value(r, cm, "valid_metric"));
  }
  return log;
}

std::string curves_section(const std::string& dir, const json& r) {
  std::vector<std::pair<std::string, const json*>> groups;
  for (const auto& model : model_names()) groups.push_back({model, find(r, {"artifacts", "official", model})});
  for (const auto& in : ablation_inputs())
    groups.push_back({"ablation " + in, find(r, {"artifacts", "ablation", in})});
  std::string metric_name = "validation metric";
  if (const json* sm = find(r, {"config", "selection_metric"}); sm && sm->is_string())
    metric_name = "validation " + sm->get<std::string>();
  std::ostringstream s;
  bool any = false;
  for (const auto& [name, art] : groups) {
    if (!art) continue;
    const json* runs = find(*art, {"runs"});
    if (!runs || !runs->is_array() || runs->empty()) continue;
    std::vector<RunLog> logs;
    for (size_t i = 0; i < runs->size(); ++i) {
      std::string run = artifact_path(dir, &(*runs)[i]);
      std::string log_path = join_path(run, "log.csv");
      if (!file_exists(log_path))
        throw InputError(join_path(dir, "results.json") + ": artifacts: training log not found: " + log_path);
      logs.push_back(read_log(log_path, runs->size() > 1 ? "seed run " + std::to_string(i + 1) : ""));
    }
    std::vector<Series> loss, metric;
    for (size_t i = 0; i < logs.size(); ++i) {
      std::string suffix = logs[i].label.empty() ? "" : " (" + logs[i].label + ")";
      bool markers = logs[i].epoch.size() <= 30;
      loss.push_back({"train loss" + suffix, logs[i].epoch, logs[i].train_loss, palette(2 * i), false, markers});
      loss.push_back({"valid loss" + suffix, logs[i].epoch, logs[i].valid_loss, palette(2 * i + 1), true, markers});
      metric.push_back({"valid" + suffix, logs[i].epoch, logs[i].valid_metric, palette(i), false, markers});
    }
    PlotOptions o;
    o.auto_range = true;
    o.x_label = "epoch";
    o.width = 340;
    o.height = 240;
    o.id = "curve-loss-" + sanitize_id(name);
    o.title = name + ": loss";
    o.y_label = "loss";
    std::string a = svg_line_chart(loss, o);
    o.id = "curve-metric-" + sanitize_id(name);
    o.title = name + ": " + metric_name;
    o.y_label = "metric";
    std::string b = svg_line_chart(metric, o);
    s << "<div class=\"fig\"><h3>" << html_escape(name) << "</h3><div class=\"figs\">" << a << b << "</div></div>";
    any = true;
  }
  if (!any) return "";
  return "<section id=\"sec-curves\"><h2>Training curves</h2><div class=\"figs\">" + s.str() +
         "</div><p class=\"note\">Per epoch, from each run's log.csv. The selected model is the epoch with the best "
         "validation metric.</p></section>";
}

std::string section(const std::string& id, const std::string& title, const std::string& content) {
  if (content.empty()) return "";
  return "<section id=\"" + id + "\"><h2>" + html_escape(title) + "</h2>" + content + "</section>";
}

}  // namespace

void roc_points(const std::vector<bool>& positive, const std::vector<double>& scores, std::vector<double>& fpr,
                std::vector<double>& tpr) {
  fpr.clear();
  tpr.clear();
  size_t n = std::min(positive.size(), scores.size());
  long pos = 0, neg = 0;
  for (size_t i = 0; i < n; ++i) (positive[i] ? pos : neg)++;
  if (pos == 0 || neg == 0) return;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  long tp = 0, fp = 0;
  fpr.push_back(0);
  tpr.push_back(0);
  for (size_t i = 0; i < n; ++i) {
    (positive[order[i]] ? tp : fp)++;
    // One point per distinct threshold: tied scores move the curve diagonally in one step.
    if (i + 1 < n && scores[order[i + 1]] == scores[order[i]]) continue;
    fpr.push_back(static_cast<double>(fp) / static_cast<double>(neg));
    tpr.push_back(static_cast<double>(tp) / static_cast<double>(pos));
  }
}

json read_results(const std::string& dir) {
  std::string path = join_path(dir, "results.json");
  if (!file_exists(path)) throw InputError(path + ": not found (is this an experiment folder?)");
  json r;
  try {
    r = json::parse(read_text_file(path));
  } catch (const json::parse_error& e) {
    throw InputError(path + ": not valid JSON: " + e.what());
  }
  if (!r.is_object()) throw InputError(path + ": expected a JSON object at the top level");
  return r;
}

std::string render_report_html(const std::string& dir, const json& r) {
  std::vector<ModelPredictions> preds = load_model_predictions(dir, r);
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    << "<title>skintriage experiment report</title><style>" << kStyle << "</style></head><body>\n";
  s << "<header><h1>Management of skin lesions: experiment report</h1><p>";
  if (const json* d = find(r, {"data"})) {
    s << "Data <code>" << html_escape(d->value("source", std::string("?"))) << "</code> ("
      << html_escape(d->value("format", std::string("?"))) << ", " << fmt(number_at(*d, {"cases"}), 0)
      << " cases). ";
  }
  if (const json* c = find(r, {"config"})) {
    s << "Mode <b>" << html_escape(c->value("mode", std::string("?"))) << "</b>";
    if (const json* k = find(*c, {"seeds"})) s << ", seeds " << html_escape(k->dump());
    if (const json* p = find(*c, {"priors"}); p && p->is_string())
      s << ", MGMT_infr priors from <b>" << html_escape(p->get<std::string>()) << "</b>";
    s << ".";
  }
  if (const json* t = find(r, {"timing", "total_seconds"}); t && t->is_number())
    s << " Protocol wall time " << fmt(t->get<double>(), 1) << " s.";
  s << "</p></header>\n<nav id=\"toc\"></nav>\n";

  s << section("sec-summary", "Summary",
               render_html(table_summary(r, model_names(), "table-summary", "Headline metrics (test split, 95% CI)")));
  s << section("sec-table2", "Table 2: management inferred from diagnosis vs predicted directly",
               render_html(table_per_class(r, {"MGMT_infr", "MGMT_pred"}, "table2",
                                           "MGMT_infr vs MGMT_pred, inputs CDM, per class (test split)")));
  s << section("sec-table3", "Table 3: multi-task model",
               render_html(table_per_class(r, {"MGMT_multi"}, "table3", "MGMT_multi, inputs CDM, per class (test split)")) +
                   render_html(table_heads(r, "MGMT_multi")));
  s << section("sec-policy", "Decision policy", render_html(table_policy(r)));
  s << section("sec-table4", "Table 4: input ablation", render_html(table_ablation(r)));
  s << section("sec-cv", "Cross-validation",
               render_html(table_cv(r)) + render_html(table_cv_folds(r)) + render_html(table_relative(r)));
  if (!find(r, {"cv"})) s << section("sec-relative", "Relative improvements", render_html(table_relative(r)));
  s << section("sec-paired", "Paired tests", render_html(table_paired(r)));
  s << section("sec-seeds", "Seeds", render_html(table_seeds(r)));
  s << roc_section(preds);
  s << confusion_section(r);
  s << calibration_section(preds);
  s << curves_section(dir, r);
  std::string gap = render_html(table_paper_gap(r));
  if (!gap.empty()) {
    std::string cite;
    if (const json* p = find(r, {"paper", "citation"}); p && p->is_string())
      cite = "<p class=\"note\">" + html_escape(p->get<std::string>()) + ".</p>";
    std::string warn;
    if (const json* prior = find(r, {"config", "priors"}); prior && prior->is_string() && *prior == "train")
      warn = "<p class=\"note gap-warn\">MGMT_infr here uses management priors counted on the training split; the "
             "paper's MGMT_infr numbers are only consistent with priors over all cases (run with --priors all).</p>";
    s << section("sec-paper", "Gap to the published numbers", gap + cite + warn);
  }
  std::string data = render_html(table_data(r));
  std::string config;
  if (const json* c = find(r, {"config"})) config = "<h3>Configuration</h3><pre id=\"config\">" + html_escape(c->dump(2)) + "</pre>";
  s << section("sec-config", "Data and configuration", data + config);
  s << "<footer><p class=\"note\">Written by skintriage " << SKINTRIAGE_VERSION
    << ". Self-contained: no external resources.</p></footer>\n";
  s << "<script>" << kScript << "</script>\n</body></html>\n";
  return s.str();
}

std::string write_report(const std::string& dir, const std::string& out_path) {
  json r = read_results(dir);
  std::string out = out_path.empty() ? join_path(dir, "report.html") : out_path;
  write_file_atomic(out, render_report_html(dir, r));
  return out;
}

}  // namespace skintriage::report
