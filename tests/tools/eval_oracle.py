#!/usr/bin/python3
"""Independent reference values for the eval module's tests (tests/eval/test_oracle.cpp).

Generates random and adversarial cases, computes every metric with scikit-learn / scipy / plain numpy
(never with the C++ code under test), and writes cases + expected values to one JSON file:

    eval_oracle.py --out FILE

Conventions that are definitions rather than library behaviour (documented in src/eval/metrics.h):
sensitivity is undefined (null) for a class absent from the labels, specificity when every case has the
class, F1 when the class is neither present nor predicted, AUROC when the class is absent or the only one;
macro means skip undefined values. Kappa uses labels=range(K). NaN is written as null.
"""
import argparse
import json
import math
import warnings

import numpy as np
from scipy import optimize, stats
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, brier_score_loss, cohen_kappa_score,
                             confusion_matrix, multilabel_confusion_matrix, precision_recall_fscore_support,
                             roc_auc_score)

warnings.filterwarnings("ignore")


def clean(v):
    """float -> float or None (NaN/inf), recursively."""
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None
    return v


def nanmean(values):
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def ece_reference(y, P, bins=15):
    conf = P.max(axis=1)
    pred = P.argmax(axis=1)  # first maximum, like the C++ argmax
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        mask = (conf > lo) & (conf <= hi)
        if b == 0:
            mask |= conf <= 0
        if mask.sum() == 0:
            continue
        total += mask.sum() / len(y) * abs((pred[mask] == y[mask]).mean() - conf[mask].mean())
    return total


def metrics_case(name, y, P, K, exc=-1, pred=None):
    y = np.asarray(y, dtype=int)
    P = np.asarray(P, dtype=float)
    explicit = pred is not None
    if pred is None:
        pred = P.argmax(axis=1)
    pred = np.asarray(pred, dtype=int)
    labels = list(range(K))
    cm = confusion_matrix(y, pred, labels=labels)
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    mcm = multilabel_confusion_matrix(y, pred, labels=labels)
    per = []
    for k in range(K):
        tn, fp, fn, tp = mcm[k].ravel()
        present = support[k] > 0
        predicted = (pred == k).sum() > 0
        sens = float(rec[k]) if present else None
        spec = float(tn / (tn + fp)) if (tn + fp) > 0 else None
        f = float(f1[k]) if (present or predicted) else None
        yk = (y == k).astype(int)
        auc = float(roc_auc_score(yk, P[:, k])) if 0 < yk.sum() < len(yk) else None
        per.append({"sensitivity": sens, "specificity": spec, "precision": float(prec[k]), "f1": f,
                    "auroc": auc, "brier": float(brier_score_loss(yk, P[:, k])),
                    "support": int(support[k]), "predicted": int((pred == k).sum())})
    onehot = np.eye(K)[y]
    exp = {
        "accuracy": accuracy_score(y, pred),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
        "confusion": cm.tolist(),
        "kappa": cohen_kappa_score(y, pred, labels=labels),
        "kappa_quadratic": cohen_kappa_score(y, pred, labels=labels, weights="quadratic"),
        "brier": float(np.mean(np.sum((P - onehot) ** 2, axis=1))),
        "ece": ece_reference(y, P),
        "per_class": per,
    }
    for m in ["sensitivity", "specificity", "precision", "f1", "auroc"]:
        exp[m + "_macro"] = nanmean([p[m] for p in per])
    if exc >= 0:
        over = int(((y != exc) & (pred == exc)).sum())
        others = int((y != exc).sum())
        exp["over_excision"] = over
        exp["over_excision_rate"] = over / others if others else None
    case = {"name": name, "K": K, "labels": y.tolist(), "probs": P.tolist(), "excision_class": exc,
            "expected": exp}
    if explicit:
        case["predictions"] = pred.tolist()
    return clean(case)


def dirichlet(rng, n, k, alpha=1.0):
    return rng.dirichlet([alpha] * k, size=n)


def build_metrics_cases(rng):
    cases = []
    for i in range(12):
        K = [2, 3, 3, 5][i % 4]
        n = int(rng.integers(20, 300))
        y = rng.integers(0, K, size=n)
        # informative scores: boost the true class
        P = dirichlet(rng, n, K)
        P[np.arange(n), y] += rng.uniform(0, 1.5, size=n)
        P /= P.sum(axis=1, keepdims=True)
        cases.append(metrics_case(f"random_{i}", y, P, K, exc=K - 1 if K == 3 else -1))
    # heavy ties: scores rounded to one decimal
    for i in range(4):
        K = 3
        n = 150
        y = rng.integers(0, K, size=n)
        P = np.round(dirichlet(rng, n, K), 1)
        cases.append(metrics_case(f"ties_{i}", y, P, K, exc=2))
    y = rng.integers(0, 3, size=60)
    cases.append(metrics_case("constant_scores", y, np.full((60, 3), 1 / 3), 3, exc=2))
    y = rng.integers(0, 2, size=40) * 2  # class 1 absent
    cases.append(metrics_case("absent_class", y, dirichlet(rng, 40, 3), 3, exc=2))
    cases.append(metrics_case("single_class", np.full(25, 1), dirichlet(rng, 25, 3), 3, exc=2))
    y = rng.integers(0, 3, size=50)
    cases.append(metrics_case("perfect", y, np.eye(3)[y] * 0.8 + 0.2 / 3, 3, exc=2))
    cases.append(metrics_case("inverse", y, (1 - np.eye(3)[y]) / 2, 3, exc=2))
    cases.append(metrics_case("tiny_n1", [2], [[0.2, 0.3, 0.5]], 3, exc=2))
    cases.append(metrics_case("tiny_n2", [0, 1], [[0.6, 0.4], [0.45, 0.55]], 2))
    cases.append(metrics_case("tiny_n3_ties", [0, 1, 1], [[0.5, 0.5], [0.5, 0.5], [0.2, 0.8]], 2))
    # confidence exactly on bin edges (b/15) for the ECE binning
    edges = np.array([[b / 15, 1 - b / 15] for b in range(1, 15)])
    cases.append(metrics_case("bin_edges", rng.integers(0, 2, size=len(edges)), edges, 2))
    # explicit decisions (a policy): excise whenever P(EXC) >= 0.2
    n = 120
    y = rng.integers(0, 3, size=n)
    P = dirichlet(rng, n, 3)
    pred = np.where(P[:, 2] >= 0.2, 2, P[:, :2].argmax(axis=1))
    cases.append(metrics_case("policy_decisions", y, P, 3, exc=2, pred=pred))
    return cases


def build_mcnemar_cases(rng):
    cases = []
    specs = [(0, 0, 10), (3, 3, 5), (0, 7, 4), (12, 4, 30), (30, 60, 100), (1, 0, 0), (250, 210, 40)]
    for only_a, only_b, agree in specs:
        a = [True] * only_a + [False] * only_b
        b = [False] * only_a + [True] * only_b
        both = rng.integers(0, 2, size=agree).astype(bool).tolist()
        a += both
        b += both
        perm = rng.permutation(len(a))
        a = [bool(a[i]) for i in perm]
        b = [bool(b[i]) for i in perm]
        d = only_a + only_b
        if d == 0:
            p, mid = 1.0, 1.0
        else:
            p = stats.binomtest(only_a, d, 0.5).pvalue
            m = min(only_a, only_b)
            mid = min(1.0, 2 * (stats.binom.cdf(m, d, 0.5) - 0.5 * stats.binom.pmf(m, d, 0.5)))
        cases.append({"a": a, "b": b, "only_a": only_a, "only_b": only_b, "p_exact": float(p), "p_midp": float(mid)})
    return cases


def delong_reference(y, sa, sb):
    """DeLong, DeLong & Clarke-Pearson (1988), structural components computed pair by pair (O(n^2))."""
    y = np.asarray(y, dtype=bool)
    out = {}
    V10, V01, aucs = [], [], []
    for s in (np.asarray(sa, float), np.asarray(sb, float)):
        X, Y = s[y], s[~y]
        psi = (X[:, None] > Y[None, :]).astype(float) + 0.5 * (X[:, None] == Y[None, :])
        V10.append(psi.mean(axis=1))
        V01.append(psi.mean(axis=0))
        aucs.append(psi.mean())
    m, n = y.sum(), (~y).sum()
    S10 = np.cov(np.vstack(V10))
    S01 = np.cov(np.vstack(V01))
    S = S10 / m + S01 / n
    var = S[0, 0] + S[1, 1] - 2 * S[0, 1]
    diff = aucs[0] - aucs[1]
    z = diff / math.sqrt(var) if var > 0 else 0.0
    p = 2 * stats.norm.sf(abs(z)) if var > 0 else 1.0
    out.update(auc_a=aucs[0], auc_b=aucs[1], diff=diff, var_a=S[0, 0], var_b=S[1, 1], covariance=S[0, 1],
               variance=var, z=z, p=p, auc_a_sklearn=roc_auc_score(y.astype(int), sa),
               auc_b_sklearn=roc_auc_score(y.astype(int), sb))
    return clean(out)


def build_delong_cases(rng):
    cases = []
    for i, n in enumerate([30, 80, 200, 400]):
        y = rng.integers(0, 2, size=n).astype(bool)
        latent = rng.normal(size=n) + 1.2 * y
        sa = latent + rng.normal(scale=0.5, size=n)
        sb = latent + rng.normal(scale=1.5, size=n)
        if i == 1:  # ties: coarse scores
            sa, sb = np.round(sa), np.round(sb * 2) / 2
        cases.append({"name": f"delong_{i}", "positive": y.tolist(), "a": sa.tolist(), "b": sb.tolist(),
                      "expected": delong_reference(y, sa, sb)})
    # a small hand-checkable example: 3 positives, 3 negatives
    y = [True, True, True, False, False, False]
    sa = [0.9, 0.8, 0.3, 0.4, 0.2, 0.1]
    sb = [0.7, 0.5, 0.5, 0.5, 0.6, 0.1]
    cases.append({"name": "delong_small", "positive": y, "a": sa, "b": sb, "expected": delong_reference(y, sa, sb)})
    return cases


def build_temperature_case(rng):
    n, K, T0 = 3000, 3, 2.0
    Z = rng.normal(scale=3.0, size=(n, K))
    probs = np.exp(Z / T0)
    probs /= probs.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(K, p=p) for p in probs])

    def nll(log_t):
        t = math.exp(log_t)
        s = Z / t
        s = s - s.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(n), y]))

    res = optimize.minimize_scalar(nll, bounds=(math.log(0.05), math.log(20)), method="bounded",
                                   options={"xatol": 1e-10})
    return {"logits": Z.tolist(), "labels": y.tolist(), "true_temperature": T0,
            "temperature": math.exp(res.x), "nll_after": res.fun, "nll_before": nll(0.0)}


def build_agreement_case(rng):
    n, R = 100, 6
    truth = rng.integers(0, 2, size=n)
    ratings = np.array([[t if rng.random() > 0.1 + 0.05 * r else 1 - t for r in range(R)] for t in truth])
    model = np.array([t if rng.random() > 0.15 else 1 - t for t in truth])
    pairs = [cohen_kappa_score(ratings[:, a], ratings[:, b]) for a in range(R) for b in range(a + 1, R)]
    model_k = [cohen_kappa_score(model, ratings[:, r]) for r in range(R)]
    rater_mean = [np.mean([cohen_kappa_score(ratings[:, a], ratings[:, b]) for b in range(R) if b != a])
                  for a in range(R)]
    mm = np.mean(model_k)
    pct = 100 * (sum(m < mm for m in rater_mean) + 0.5 * sum(m == mm for m in rater_mean)) / R

    def summ(v):
        return {"mean": np.mean(v), "median": np.median(v), "q1": np.percentile(v, 25), "q3": np.percentile(v, 75),
                "min": np.min(v), "max": np.max(v)}

    sens = [ratings[truth == 1, r].mean() for r in range(R)]
    spec = [1 - ratings[truth == 0, r].mean() for r in range(R)]
    return clean({"truth": truth.tolist(), "ratings": ratings.tolist(), "model": model.tolist(),
                  "rater_pairs": summ(pairs), "model_vs_raters": summ(model_k), "model_kappa": model_k,
                  "rater_mean_kappa": rater_mean, "model_percentile": pct,
                  "model_sensitivity": model[truth == 1].mean(), "model_specificity": 1 - model[truth == 0].mean(),
                  "rater_sensitivity": summ(sens), "rater_specificity": summ(spec)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20210923)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    doc = {
        "metrics": build_metrics_cases(rng),
        "mcnemar": build_mcnemar_cases(rng),
        "delong": build_delong_cases(rng),
        "temperature": clean(build_temperature_case(rng)),
        "agreement": build_agreement_case(rng),
    }
    with open(args.out, "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()
