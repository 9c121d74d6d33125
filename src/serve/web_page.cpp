// The clinician's page served at "/": one self-contained HTML document (no external scripts, fonts
// or images), compiled into the binary so the server needs no files at run time.
#include "serve/server.h"

namespace skintriage {

const std::string& web_page_html() {
  static const std::string html = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>skintriage</title>
<style>
  :root { --fg:#1d2330; --muted:#5b6475; --line:#d9dee7; --bg:#f5f7fa; --card:#fff;
          --none:#2e8b57; --clnc:#d08c00; --exc:#c0392b; --accent:#2456a6; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
  header { background:#1f2f4a; color:#fff; padding:12px 24px; display:flex; align-items:baseline; gap:16px; flex-wrap:wrap; }
  header h1 { font-size:20px; margin:0; }
  header .model { font-size:13px; opacity:.85; }
  main { max-width:1200px; margin:0 auto; padding:18px 24px 40px; display:grid; grid-template-columns: 1fr 1fr; gap:18px; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
  .card h2 { font-size:16px; margin:0 0 10px; }
  .images { display:grid; grid-template-columns:1fr 1fr; gap:12px; }
  .drop { border:2px dashed var(--line); border-radius:8px; min-height:190px; display:flex; flex-direction:column;
          align-items:center; justify-content:center; text-align:center; padding:8px; cursor:pointer; position:relative; background:#fafbfd; }
  .drop.over { border-color:var(--accent); background:#eef3fb; }
  .drop img { max-width:100%; max-height:220px; border-radius:4px; }
  .drop .hint { color:var(--muted); font-size:13px; }
  .drop input[type=file] { position:absolute; inset:0; opacity:0; cursor:pointer; }
  .clear { font-size:12px; margin-top:4px; background:none; border:none; color:var(--accent); cursor:pointer; }
  .meta { display:grid; grid-template-columns:repeat(3,1fr); gap:10px; margin-top:12px; }
  label.f { display:flex; flex-direction:column; font-size:13px; color:var(--muted); gap:3px; }
  select, input[type=password], input[type=text] { font:inherit; padding:6px 8px; border:1px solid var(--line); border-radius:6px; background:#fff; color:var(--fg); }
  .opts { display:flex; gap:16px; align-items:center; margin-top:12px; flex-wrap:wrap; font-size:14px; }
  button.go { font:inherit; font-weight:600; background:var(--accent); color:#fff; border:none; border-radius:6px; padding:9px 22px; cursor:pointer; }
  button.go:disabled { opacity:.55; cursor:progress; }
  .error { color:#8a1c12; background:#fdecea; border:1px solid #f5c2bd; border-radius:6px; padding:8px 10px; margin-top:10px; display:none; white-space:pre-wrap; }
  .decision { font-size:26px; font-weight:700; padding:10px 14px; border-radius:8px; color:#fff; background:#8792a2; display:inline-block; }
  .decision.NONE { background:var(--none); } .decision.CLNC { background:var(--clnc); } .decision.EXC { background:var(--exc); }
  .sub { color:var(--muted); font-size:13px; margin:6px 0 10px; }
  .bar { display:grid; grid-template-columns: 150px 1fr 56px; align-items:center; gap:8px; margin:4px 0; font-size:14px; }
  .bar .track { background:#edf0f5; border-radius:4px; height:14px; overflow:hidden; }
  .bar .fill { height:100%; background:var(--accent); border-radius:4px; }
  .bar.NONE .fill { background:var(--none); } .bar.CLNC .fill { background:var(--clnc); } .bar.EXC .fill { background:var(--exc); }
  .bar .num { text-align:right; font-variant-numeric: tabular-nums; }
  table { border-collapse:collapse; width:100%; font-size:14px; }
  th, td { text-align:left; padding:5px 6px; border-bottom:1px solid var(--line); }
  th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
  .heat { display:grid; grid-template-columns:1fr 1fr; gap:12px; }
  .heat figure { margin:0; } .heat img { width:100%; border-radius:6px; border:1px solid var(--line); }
  .heat figcaption { font-size:12px; color:var(--muted); }
  .wide { grid-column: 1 / -1; }
  .pill { display:inline-block; padding:1px 8px; border-radius:10px; background:#edf0f5; font-size:12px; margin-right:4px; }
  #result { display:none; }
  @media (max-width: 900px) { main { grid-template-columns:1fr; } }
</style>
</head>
<body>
<header><h1>skintriage</h1><span class="model" id="model-line">loading model…</span></header>
<main>
  <section class="card" id="input-card">
    <h2>Case</h2>
    <div class="images">
      <div>
        <div class="drop" id="clinic-drop">
          <img id="clinic-preview" alt="" hidden>
          <span class="hint" id="clinic-hint">Clinical photo<br>click or drop an image</span>
          <input type="file" id="clinic-file" accept="image/png,image/jpeg,image/bmp">
        </div>
        <button class="clear" type="button" data-clear="clinic">remove</button>
      </div>
      <div>
        <div class="drop" id="derm-drop">
          <img id="derm-preview" alt="" hidden>
          <span class="hint" id="derm-hint">Dermoscopic image<br>click or drop an image</span>
          <input type="file" id="derm-file" accept="image/png,image/jpeg,image/bmp">
        </div>
        <button class="clear" type="button" data-clear="derm">remove</button>
      </div>
    </div>
    <div class="meta">
      <label class="f">Sex<select id="sex"><option value="">unknown</option></select></label>
      <label class="f">Location<select id="location"><option value="">unknown</option></select></label>
      <label class="f">Elevation<select id="elevation"><option value="">unknown</option></select></label>
    </div>
    <div class="opts">
      <label><input type="checkbox" id="heatmaps" checked> heatmaps</label>
      <label>test-time views <select id="tta"><option>1</option><option>4</option><option>8</option></select></label>
      <label id="token-wrap" hidden>token <input type="password" id="token" size="16"></label>
      <button class="go" id="submit" type="button">Assess</button>
    </div>
    <div class="error" id="error"></div>
  </section>

  <section class="card" id="result-card">
    <h2>Management</h2>
    <div id="placeholder" class="sub">Add at least one image and press Assess.</div>
    <div id="result">
      <div class="decision" id="decision"></div>
      <div class="sub" id="decision-detail"></div>
      <div id="mgmt-bars"></div>
      <div class="sub" id="uncertainty"></div>
      <div class="sub" id="inputs-used"></div>
      <div class="sub" id="warnings"></div>
    </div>
  </section>

  <section class="card" id="diag-card" hidden>
    <h2>Diagnosis</h2>
    <div id="diag-bars"></div>
  </section>

  <section class="card" id="criteria-card" hidden>
    <h2>Seven-point checklist</h2>
    <div class="sub" id="seven-point"></div>
    <table><thead><tr><th>criterion</th><th>most probable</th><th>p</th><th>points</th></tr></thead><tbody id="criteria"></tbody></table>
  </section>

  <section class="card wide" id="heat-card" hidden>
    <h2>Where the model looked <span class="sub" id="heat-what"></span></h2>
    <div class="heat" id="heat"></div>
  </section>
</main>
<script>
"use strict";
const NAMES = { NONE: "no further examination", CLNC: "clinical follow-up", EXC: "excision",
  BCC: "basal cell carcinoma", NEV: "nevus", MEL: "melanoma", MISC: "miscellaneous", SK: "seborrheic keratosis" };
const $ = (id) => document.getElementById(id);
const files = { clinic: null, derm: null };

function authHeaders() {
  const t = $("token").value.trim();
  return t ? { "Authorization": "Bearer " + t } : {};
}
function showError(msg) { const e = $("error"); e.textContent = msg; e.style.display = msg ? "block" : "none"; }
function pct(p) { return (100 * p).toFixed(1) + "%"; }
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const k in (attrs || {})) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

async function loadModel() {
  try {
    const r = await fetch("/api/v1/model", { headers: authHeaders() });
    if (r.status === 401) { $("token-wrap").hidden = false; $("model-line").textContent = "token required"; return; }
    const m = await r.json();
    if (!r.ok) { showError(m.error ? m.error.message : "cannot load the model card"); return; }
    const inp = m.inputs || {};
    const heads = (m.heads || []).map(h => h.name).join(", ");
    $("model-line").textContent = m.architecture + " · inputs " + inp.set + " · heads " + heads;
    for (const field of ["sex", "location", "elevation"]) {
      const sel = $(field);
      while (sel.options.length > 1) sel.remove(1);
      for (const v of ((m.vocabularies || {})[field] || [])) sel.appendChild(el("option", { value: v }, v));
      sel.disabled = !inp.meta;
    }
    if (!inp.clinic) $("clinic-hint").textContent = "this model does not use clinical photos";
    if (!inp.derm) $("derm-hint").textContent = "this model does not use dermoscopic images";
  } catch (e) { showError("cannot reach the server: " + e); }
}

function setFile(which, file) {
  files[which] = file;
  const img = $(which + "-preview");
  if (file) {
    img.src = URL.createObjectURL(file);
    img.hidden = false;
    $(which + "-hint").hidden = true;
  } else {
    img.hidden = true; img.removeAttribute("src");
    $(which + "-hint").hidden = false;
    $(which + "-file").value = "";
  }
}

for (const which of ["clinic", "derm"]) {
  const drop = $(which + "-drop"), input = $(which + "-file");
  input.addEventListener("change", () => setFile(which, input.files[0] || null));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); drop.classList.remove("over");
    if (e.dataTransfer.files.length) setFile(which, e.dataTransfer.files[0]);
  });
}
document.querySelectorAll("[data-clear]").forEach(b => b.addEventListener("click", () => setFile(b.dataset.clear, null)));

function bars(target, classes, probs, colourByClass) {
  const box = $(target);
  box.textContent = "";
  for (const c of classes) {
    const row = el("div", { class: "bar" + (colourByClass ? " " + c : "") });
    row.appendChild(el("span", {}, c + (NAMES[c] ? " · " + NAMES[c] : "")));
    const track = el("div", { class: "track" });
    const fill = el("div", { class: "fill" });
    fill.style.width = (100 * probs[c]).toFixed(1) + "%";
    track.appendChild(fill);
    row.appendChild(track);
    row.appendChild(el("span", { class: "num" }, pct(probs[c])));
    box.appendChild(row);
  }
}

function render(r) {
  $("placeholder").hidden = true;
  $("result").style.display = "block";
  const m = r.management;
  const d = $("decision");
  if (m) {
    d.textContent = m.decision + " · " + (NAMES[m.decision] || "");
    d.className = "decision " + m.decision;
    d.dataset.decision = m.decision;
    $("decision-detail").textContent = "policy: " + m.policy_description + " · " + m.source +
      (r.calibration && r.calibration.applied ? " · calibrated" : "");
    bars("mgmt-bars", m.classes, m.probabilities, true);
  }
  const u = r.uncertainty;
  $("uncertainty").textContent = u ? (u.views > 1
      ? "uncertainty over " + u.views + " views: P(" + m.decision + ") ranges " + pct(u.decision_probability_min) +
        "–" + pct(u.decision_probability_max) + " (std " + pct(u.decision_probability_std) + "), " +
        u.views_agreeing_with_decision + "/" + u.views + " views agree"
      : "single view (choose more test-time views for an uncertainty figure)") : "";
  const inp = r.inputs || {};
  $("inputs-used").textContent = "inputs used: " + ((inp.used || []).join(", ") || "none") +
    ((inp.missing || []).length ? " · missing: " + inp.missing.join(", ") : "") +
    ((inp.ignored || []).length ? " · ignored: " + inp.ignored.join(", ") : "");
  $("warnings").textContent = (r.warnings || []).join(" · ");
  if (r.diagnosis) {
    $("diag-card").hidden = false;
    bars("diag-bars", r.diagnosis.classes, r.diagnosis.probabilities, false);
  } else $("diag-card").hidden = true;
  if (r.criteria) {
    $("criteria-card").hidden = false;
    const sp = r.seven_point;
    $("seven-point").textContent = "score " + sp.argmax + " (expected " + sp.expected.toFixed(2) + ")" +
      (sp.suspicious ? " · at or above 3: suspicious" : " · below 3") + (sp.complete ? "" : " · not all criteria predicted");
    const tb = $("criteria");
    tb.textContent = "";
    for (const k in r.criteria) {
      const c = r.criteria[k];
      const tr = el("tr");
      tr.appendChild(el("td", {}, c.name));
      tr.appendChild(el("td", {}, c.argmax));
      tr.appendChild(el("td", {}, pct(c.probabilities[c.argmax])));
      tr.appendChild(el("td", {}, String(c.points[c.argmax])));
      tb.appendChild(tr);
    }
  } else $("criteria-card").hidden = true;
  const hm = r.heatmaps || [];
  $("heat-card").hidden = hm.length === 0;
  const heat = $("heat");
  heat.textContent = "";
  for (const h of hm) {
    $("heat-what").textContent = "Grad-CAM for " + h.head + " = " + h["class"];
    const fig = el("figure");
    const img = el("img", { alt: h.modality + " heatmap", class: "heatmap", "data-modality": h.modality });
    img.src = h.overlay_png;
    fig.appendChild(img);
    fig.appendChild(el("figcaption", {}, (h.modality === "clinic" ? "clinical photo" : "dermoscopic image") +
      " · " + h.grid_width + "×" + h.grid_height + " feature map"));
    heat.appendChild(fig);
  }
}

$("submit").addEventListener("click", async () => {
  showError("");
  if (!files.clinic && !files.derm) { showError("Add a clinical photo and/or a dermoscopic image."); return; }
  const fd = new FormData();
  if (files.clinic) fd.append("clinic", files.clinic, files.clinic.name || "clinic");
  if (files.derm) fd.append("derm", files.derm, files.derm.name || "derm");
  for (const f of ["sex", "location", "elevation"]) if ($(f).value && !$(f).disabled) fd.append(f, $(f).value);
  fd.append("heatmaps", $("heatmaps").checked ? "1" : "0");
  fd.append("tta", $("tta").value);
  const btn = $("submit");
  btn.disabled = true; btn.textContent = "Assessing…";
  try {
    const r = await fetch("/api/v1/predict", { method: "POST", body: fd, headers: authHeaders() });
    const j = await r.json();
    if (r.status === 401) $("token-wrap").hidden = false;
    if (!r.ok) showError((j.error && j.error.message) || ("HTTP " + r.status));
    else render(j);
  } catch (e) {
    showError("request failed: " + e);
  } finally {
    btn.disabled = false; btn.textContent = "Assess";
  }
});
$("token").addEventListener("change", loadModel);
loadModel();
</script>
</body>
</html>
)HTML";
  return html;
}

}  // namespace skintriage
