#include "data/synth.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <random>
#include <mutex>
#include <thread>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/derm7pt.h"
#include "data/derm7pt_vocab.h"
#include "data/image.h"

namespace skintriage {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Portable random numbers: std::mt19937_64 is specified exactly by the standard; the
// transforms below are ours, so a seed gives the same release with any standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  int integer(int lo, int hi) {  // inclusive
    return lo + static_cast<int>(uniform() * (hi - lo + 1)) % (hi - lo + 1);
  }
  bool chance(double p) { return uniform() < p; }
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }
  /// Index drawn with probability proportional to `weights`.
  int pick(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double u = uniform() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (u < weights[i]) return static_cast<int>(i);
      u -= weights[i];
    }
    return static_cast<int>(weights.size()) - 1;
  }
  uint64_t next() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

uint64_t mix(uint64_t a, uint64_t b) {  // splitmix64 of a combined key
  uint64_t z = a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E5E9ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

template <class T>
const T& choose(Rng& rng, const std::vector<T>& values, const std::vector<double>& weights) {
  return values[static_cast<size_t>(rng.pick(weights))];
}

// ---------------------------------------------------------------------------------------------
// Labels: diagnosis first, then criteria given diagnosis, the score from the criteria, then
// management from diagnosis and score (as in the real data's dependence).

struct SynthCase {
  SynthRow row;
  std::string clinic_disk, derm_disk;  // paths under images/ as written on disk
  bool clinic_missing = false;
};

const std::vector<std::string> kFolders = {"Sya", "SYB", "Syc", "syd", "Sye", "SYF"};

std::vector<SynthCase> make_cases(int n, uint64_t seed) {
  Rng rng(mix(seed, 0x5EED));
  std::vector<SynthCase> out(static_cast<size_t>(std::max(0, n)));
  const std::vector<std::string> groups = {"NEV", "MEL", "MISC", "SK", "BCC"};
  std::vector<int> folder_count(kFolders.size(), 0);
  for (int i = 0; i < n; ++i) {
    SynthCase& sc = out[static_cast<size_t>(i)];
    SynthRow& r = sc.row;
    std::string g = choose(rng, groups, {0.575, 0.25, 0.085, 0.045, 0.045});
    std::string diag;
    if (g == "NEV")
      diag = choose(rng,
                    std::vector<std::string>{"clark nevus", "reed or spitz nevus", "dermal nevus", "blue nevus",
                                             "combined nevus", "congenital nevus", "recurrent nevus"},
                    {0.55, 0.1, 0.12, 0.05, 0.05, 0.08, 0.05});
    else if (g == "MEL")
      diag = choose(rng,
                    std::vector<std::string>{"melanoma (in situ)", "melanoma (less than 0.76 mm)",
                                             "melanoma (0.76 to 1.5 mm)", "melanoma (more than 1.5 mm)", "melanoma",
                                             "melanoma metastasis"},
                    {0.2, 0.35, 0.15, 0.1, 0.15, 0.05});
    else if (g == "MISC")
      diag = choose(rng,
                    std::vector<std::string>{"dermatofibroma", "lentigo", "melanosis", "miscellaneous", "vascular lesion"},
                    {0.2, 0.2, 0.1, 0.25, 0.25});
    else if (g == "SK")
      diag = "seborrheic keratosis";
    else
      diag = "basal cell carcinoma";
    r["diagnosis"] = diag;

    // Per-group criterion class weights (ABS, ...).
    struct W {
      std::vector<double> pn, str, pig, rs, dag, bwv, vs;
    };
    W w;
    if (g == "MEL")
      w = {{0.3, 0.2, 0.5}, {0.6, 0.1, 0.3}, {0.2, 0.2, 0.6}, {0.5, 0.5}, {0.3, 0.2, 0.5}, {0.6, 0.4}, {0.8, 0.05, 0.15}};
    else if (g == "NEV")
      w = {{0.3, 0.55, 0.15}, {0.85, 0.1, 0.05}, {0.6, 0.3, 0.1}, {0.9, 0.1}, {0.5, 0.4, 0.1}, {0.93, 0.07}, {0.9, 0.07, 0.03}};
    else if (g == "BCC")
      w = {{0.95, 0.0, 0.05}, {0.95, 0.0, 0.05}, {0.6, 0.1, 0.3}, {0.5, 0.5}, {0.6, 0.1, 0.3}, {0.6, 0.4}, {0.2, 0.7, 0.1}};
    else if (g == "SK")
      w = {{0.9, 0.05, 0.05}, {0.95, 0.03, 0.02}, {0.5, 0.3, 0.2}, {0.85, 0.15}, {0.6, 0.3, 0.1}, {0.95, 0.05}, {0.7, 0.2, 0.1}};
    else
      w = {{0.6, 0.3, 0.1}, {0.95, 0.03, 0.02}, {0.5, 0.35, 0.15}, {0.85, 0.15}, {0.7, 0.2, 0.1}, {0.9, 0.1}, {0.6, 0.3, 0.1}};

    const std::vector<std::string> abs_typ_atp = {"absent", "typical", "atypical"};
    const std::vector<std::string> abs_reg_ir = {"absent", "regular", "irregular"};
    r["pigment_network"] = abs_typ_atp[static_cast<size_t>(rng.pick(w.pn))];
    r["streaks"] = abs_reg_ir[static_cast<size_t>(rng.pick(w.str))];
    int pig = rng.pick(w.pig);
    r["pigmentation"] = pig == 0 ? "absent"
                        : pig == 1 ? (rng.chance(0.5) ? "diffuse regular" : "localized regular")
                                   : (rng.chance(0.5) ? "diffuse irregular" : "localized irregular");
    r["regression_structures"] = rng.pick(w.rs) == 0
                                     ? "absent"
                                     : choose(rng, std::vector<std::string>{"blue areas", "white areas", "combinations"},
                                              {0.3, 0.3, 0.4});
    r["dots_and_globules"] = abs_reg_ir[static_cast<size_t>(rng.pick(w.dag))];
    r["blue_whitish_veil"] = rng.pick(w.bwv) == 0 ? "absent" : "present";
    int vs = rng.pick(w.vs);
    if (vs == 0)
      r["vascular_structures"] = "absent";
    else if (vs == 1)
      r["vascular_structures"] =
          g == "BCC" ? "arborizing"
                     : choose(rng, std::vector<std::string>{"arborizing", "comma", "hairpin", "within regression", "wreath"},
                              {0.1, 0.3, 0.25, 0.15, 0.2});
    else
      r["vascular_structures"] = rng.chance(0.6) ? "dotted" : "linear irregular";

    RawCriteria rc{r["pigment_network"],   r["streaks"],           r["pigmentation"],     r["regression_structures"],
                   r["dots_and_globules"], r["blue_whitish_veil"], r["vascular_structures"]};
    int score = seven_point_score(rc);
    r["seven_point_score"] = std::to_string(score);

    std::string mgmt;
    if (g == "MEL" || g == "BCC") {
      mgmt = "excision";
    } else if (g == "NEV") {
      double p_exc = std::min(0.9, 0.22 + 0.12 * score);
      double u = rng.uniform();
      mgmt = u < 0.02 ? "no further examination" : (u < 0.02 + 0.98 * p_exc ? "excision" : "clinical follow up");
    } else {
      mgmt = choose(rng, std::vector<std::string>{"no further examination", "clinical follow up", "excision"},
                    {0.75, 0.15, 0.10});
    }
    r["management"] = mgmt;
    r["level_of_diagnostic_difficulty"] =
        mgmt == "excision" ? choose(rng, difficulty_values(), {0.25, 0.25, 0.5})
                           : choose(rng, difficulty_values(), {0.6, 0.395, 0.005});

    std::vector<double> elev_w = g == "BCC"   ? std::vector<double>{0.1, 0.4, 0.5}
                                 : g == "SK"  ? std::vector<double>{0.2, 0.1, 0.7}
                                 : g == "MEL" ? std::vector<double>{0.5, 0.1, 0.4}
                                              : std::vector<double>{0.45, 0.1, 0.45};
    r["elevation"] = choose(rng, elevation_values(), elev_w);
    r["location"] = choose(rng, location_values(), {0.08, 0.05, 0.3, 0.03, 0.08, 0.04, 0.12, 0.2, 0.1});
    r["sex"] = choose(rng, sex_values(), {0.5, 0.5});

    // File names: a clinical and a dermoscopic photo per case in one of a few mixed-case folders.
    size_t f = static_cast<size_t>(rng.integer(0, static_cast<int>(kFolders.size()) - 1));
    const std::string& folder = kFolders[f];
    int k = folder_count[f]++;
    std::string stem = std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(folder[0])))) +
                       std::string(1, static_cast<char>(std::tolower(static_cast<unsigned char>(folder[1])))) +
                       std::string(1, static_cast<char>(std::tolower(static_cast<unsigned char>(folder[2]))));
    char buf[64];
    std::string ext = rng.chance(0.2) ? ".JPG" : ".jpg";
    std::snprintf(buf, sizeof buf, "%s%03d%s", stem.c_str(), 2 * k + 1, ext.c_str());
    std::string clinic_file = buf;
    std::snprintf(buf, sizeof buf, "%s%03d%s", stem.c_str(), 2 * k + 2, ext.c_str());
    std::string derm_file = buf;
    sc.clinic_disk = folder + "/" + clinic_file;
    sc.derm_disk = folder + "/" + derm_file;
    std::string clinic_meta = sc.clinic_disk, derm_meta = sc.derm_disk;
    // A few paths in meta.csv differ in case from the file on disk (as in the real release).
    if (rng.chance(0.03)) derm_meta = to_lower(derm_meta);
    sc.clinic_missing = rng.chance(0.03);
    r["clinic"] = sc.clinic_missing ? derm_meta : clinic_meta;
    r["derm"] = derm_meta;
    std::snprintf(buf, sizeof buf, "%s%03d", stem.c_str(), 2 * k + 1);
    r["case_id"] = std::string(buf);
    r["notes"] = rng.chance(0.05) ? "synthetic case, no real patient" : "";
    r["case_num"] = std::to_string(i + 1);
  }
  return out;
}


// ---------------------------------------------------------------------------------------------
// Images. A lesion is drawn once as a colour layer plus an alpha mask on a square patch; the
// dermoscopic image composites it at full detail, the clinical image a smaller, blurred,
// differently lit copy of the same patch, so both views show the same lesion.

using Vec3 = cv::Vec3f;

struct Harmonic {
  int k;
  double amp, phase;
};

struct Shape {
  double cx = 0, cy = 0, r0 = 100, ax = 1, ay = 1, rot = 0;
  std::vector<Harmonic> harmonics;
  double radius(double theta) const {
    double r = 1.0;
    for (const auto& h : harmonics) r += h.amp * std::cos(h.k * theta + h.phase);
    return r0 * std::max(0.3, r);
  }
  cv::Point2f point(double theta, double frac) const {
    double rho = frac * radius(theta);
    double x = rho * std::cos(theta) * ax, y = rho * std::sin(theta) * ay;
    double c = std::cos(rot), s = std::sin(rot);
    return cv::Point2f(static_cast<float>(cx + c * x - s * y), static_cast<float>(cy + s * x + c * y));
  }
  std::vector<cv::Point> polygon(double frac, int n = 240) const {
    std::vector<cv::Point> pts;
    for (int i = 0; i < n; ++i) pts.push_back(point(2 * kPi * i / n, frac));
    return pts;
  }
};

cv::Point2f random_inside(Rng& rng, const Shape& s, double max_frac) {
  return s.point(rng.uniform(0, 2 * kPi), max_frac * std::sqrt(rng.uniform()));
}

// img = img * (1 - a) + color * a with a = mask/255 * strength.
void blend(cv::Mat& img, const cv::Mat& mask, const Vec3& color, float strength) {
  const float k = strength / 255.0f;
  for (int y = 0; y < img.rows; ++y) {
    const uchar* m = mask.ptr<uchar>(y);
    Vec3* p = img.ptr<Vec3>(y);
    for (int x = 0; x < img.cols; ++x) {
      if (!m[x]) continue;
      float a = m[x] * k;
      p[x] = p[x] * (1.0f - a) + color * a;
    }
  }
}

// Raises alpha to at least mask/255 * strength (structures that reach beyond the lesion body).
void raise_alpha(cv::Mat& alpha, const cv::Mat& mask, float strength) {
  const float k = strength / 255.0f;
  for (int y = 0; y < alpha.rows; ++y) {
    const uchar* m = mask.ptr<uchar>(y);
    float* a = alpha.ptr<float>(y);
    for (int x = 0; x < alpha.cols; ++x) a[x] = std::max(a[x], m[x] * k);
  }
}

Vec3 jitter(Rng& rng, Vec3 c, double sd) {
  for (int i = 0; i < 3; ++i) c[i] = static_cast<float>(std::clamp(c[i] + rng.normal(0, sd), 0.0, 255.0));
  return c;
}

cv::Mat blank(int p) { return cv::Mat(p, p, CV_8UC1, cv::Scalar(0)); }

// Gaussian blur of a drawn mask, restricted to where it has ink (plus the kernel's reach): most
// masks cover a small part of the patch, and blurring the whole patch dominated the run time.
void soften(cv::Mat& mask, double sigma) {
  if (sigma <= 0) return;
  cv::Rect ink = cv::boundingRect(mask);
  if (ink.empty()) return;
  int margin = static_cast<int>(std::ceil(3 * sigma)) + 1;
  cv::Rect roi = cv::Rect(ink.x - margin, ink.y - margin, ink.width + 2 * margin, ink.height + 2 * margin) &
                 cv::Rect(0, 0, mask.cols, mask.rows);
  cv::Mat part = mask(roi);
  cv::GaussianBlur(part, part, cv::Size(0, 0), sigma);
}

// Smooth random field in [-1, 1] of the given size (bicubic upsampling of a small random grid).
cv::Mat smooth_noise(Rng& rng, int w, int h, int grid_w, int grid_h) {
  cv::Mat g(grid_h, grid_w, CV_32FC1);
  for (int y = 0; y < grid_h; ++y)
    for (int x = 0; x < grid_w; ++x) g.at<float>(y, x) = static_cast<float>(rng.uniform(-1, 1));
  cv::Mat out;
  cv::resize(g, out, cv::Size(w, h), 0, 0, cv::INTER_CUBIC);
  return out;
}

struct Lesion {
  cv::Mat layer;  // CV_32FC3 RGB
  cv::Mat alpha;  // CV_32FC1 in [0, 1]
};

void draw_tree(cv::Mat& m, Rng& rng, cv::Point2f from, double angle, double length, int thickness, int depth) {
  cv::Point2f to(static_cast<float>(from.x + length * std::cos(angle)), static_cast<float>(from.y + length * std::sin(angle)));
  cv::line(m, from, to, 255, std::max(1, thickness), cv::LINE_AA);
  if (depth <= 0) return;
  int branches = rng.chance(0.5) ? 2 : 3;
  for (int b = 0; b < branches; ++b)
    draw_tree(m, rng, to, angle + rng.uniform(-0.8, 0.8), length * rng.uniform(0.5, 0.75), thickness - 1, depth - 1);
}

Lesion draw_lesion(const SynthRow& r, Rng& rng, int side) {
  const std::string& diag = r.at("diagnosis");
  const std::string group = diagnosis_vocab().class_of(diag);
  const int p = side;
  Lesion les;
  Shape s;
  s.cx = s.cy = p / 2.0;
  double r0 = p / 3.3 * rng.uniform(0.62, 1.0);
  if (group == "MEL" || diag == "congenital nevus") r0 = std::min(p / 3.3, r0 * 1.15);
  s.r0 = r0;
  double aspect = rng.uniform(0.8, 1.25);
  s.ax = std::sqrt(aspect);
  s.ay = 1 / s.ax;
  s.rot = rng.uniform(0, kPi);
  // Asymmetry (low harmonics) and border irregularity (high harmonics): strong for melanoma,
  // weak for benign lesions, with overlap so the shape alone does not give the label away.
  bool irregular = group == "MEL" ? !rng.chance(0.15) : rng.chance(0.12);
  double low = irregular ? rng.uniform(0.07, 0.18) : rng.uniform(0.0, 0.06);
  double high = irregular ? rng.uniform(0.015, 0.045) : rng.uniform(0.0, 0.01);
  for (int k = 1; k <= 2; ++k) s.harmonics.push_back({k, low * rng.uniform(0.5, 1.0), rng.uniform(0, 2 * kPi)});
  for (int k = 3; k <= 16; ++k) s.harmonics.push_back({k, high * rng.uniform(0.2, 1.0), rng.uniform(0, 2 * kPi)});

  cv::Mat body = blank(p);
  cv::fillPoly(body, std::vector<std::vector<cv::Point>>{s.polygon(1.0)}, 255, cv::LINE_AA);
  cv::Mat inner = blank(p);
  cv::fillPoly(inner, std::vector<std::vector<cv::Point>>{s.polygon(0.9)}, 255, cv::LINE_AA);
  soften(inner, r0 * 0.06);
  cv::Mat edge = body.clone();
  soften(edge, group == "MEL" ? rng.uniform(1.0, 2.5) : rng.uniform(2.5, 6.0));

  // Base colour by diagnosis.
  Vec3 base(120, 80, 55);
  if (group == "MEL") base = Vec3(95, 62, 45);
  if (group == "BCC") base = Vec3(212, 162, 158);
  if (group == "SK") base = Vec3(165, 130, 95);
  if (diag == "blue nevus") base = Vec3(75, 88, 122);
  if (diag == "dermal nevus") base = Vec3(172, 128, 108);
  if (diag == "reed or spitz nevus") base = Vec3(70, 45, 38);
  if (diag == "dermatofibroma") base = Vec3(175, 130, 100);
  if (diag == "lentigo") base = Vec3(168, 118, 85);
  if (diag == "melanosis") base = Vec3(158, 114, 86);
  if (diag == "vascular lesion") base = Vec3(165, 52, 72);
  if (diag == "miscellaneous") base = rng.chance(0.5) ? Vec3(160, 110, 90) : Vec3(185, 120, 110);
  base = jitter(rng, base, 9);
  les.layer = cv::Mat(p, p, CV_32FC3, cv::Scalar(base[0], base[1], base[2]));
  les.alpha = cv::Mat(p, p, CV_32FC1, cv::Scalar(0));
  double opacity = 0.92;

  // Surface texture: SK is bumpy and waxy, everything else gently mottled.
  {
    cv::Mat tex = group == "SK" ? smooth_noise(rng, p, p, 28, 28) : smooth_noise(rng, p, p, 7, 7);
    float amp = group == "SK" ? 0.16f : 0.07f;
    for (int y = 0; y < p; ++y) {
      Vec3* q = les.layer.ptr<Vec3>(y);
      const float* t = tex.ptr<float>(y);
      for (int x = 0; x < p; ++x) q[x] *= 1.0f + amp * t[x];
    }
  }
  // A feature's visibility varies; a few present features are faint (hard cases).
  auto strength = [&](double lo, double hi) {
    double f = rng.chance(0.1) ? 0.3 : rng.uniform(0.65, 1.0);
    return static_cast<float>(rng.uniform(lo, hi) * f);
  };
  const std::vector<Vec3> dark_palette = {Vec3(35, 26, 24), Vec3(78, 48, 34), Vec3(105, 98, 112), Vec3(140, 86, 60)};

  // Pigmentation.
  const std::string& pig = r.at("pigmentation");
  if (pig == "absent") {
    opacity = rng.uniform(0.6, 0.8);
  } else if (pig == "diffuse regular") {
    float k = strength(0.2, 0.35);
    for (int y = 0; y < p; ++y) {
      Vec3* q = les.layer.ptr<Vec3>(y);
      for (int x = 0; x < p; ++x) {
        double d = std::hypot(x - s.cx, y - s.cy) / r0;
        q[x] *= static_cast<float>(1.0 - k * std::max(0.0, 1.0 - d));
      }
    }
  } else if (pig == "localized regular") {
    cv::Mat m = blank(p);
    cv::ellipse(m, cv::Point2f(static_cast<float>(s.cx), static_cast<float>(s.cy)),
                cv::Size2f(static_cast<float>(r0 * 0.8 * s.ax), static_cast<float>(r0 * 0.8 * s.ay)),
                s.rot * 180 / kPi, 0, 360, 255, -1, cv::LINE_AA);
    soften(m, r0 * 0.12);
    blend(les.layer, m, jitter(rng, Vec3(72, 46, 32), 6), strength(0.4, 0.6));
  } else {
    bool diffuse = pig == "diffuse irregular";
    int n = diffuse ? rng.integer(4, 8) : rng.integer(1, 2);
    for (int b = 0; b < n; ++b) {
      cv::Mat m = blank(p);
      cv::Point2f c = diffuse ? random_inside(rng, s, 0.85) : s.point(rng.uniform(0, 2 * kPi), rng.uniform(0.35, 0.6));
      double rad = r0 * (diffuse ? rng.uniform(0.12, 0.32) : rng.uniform(0.25, 0.45));
      cv::ellipse(m, c, cv::Size2f(static_cast<float>(rad * rng.uniform(0.7, 1.4)), static_cast<float>(rad)),
                  rng.uniform(0, 180), 0, 360, 255, -1, cv::LINE_AA);
      soften(m, diffuse ? rng.uniform(3, 8) : rng.uniform(2, 4));
      blend(les.layer, m, jitter(rng, dark_palette[static_cast<size_t>(rng.integer(0, 3))], 8), strength(0.55, 0.85));
    }
  }

  // Diagnosis-specific look.
  if (group == "SK") {
    int n = rng.integer(5, 15);
    cv::Mat milia = blank(p), comedo = blank(p);
    for (int i = 0; i < n; ++i)
      cv::circle(milia, random_inside(rng, s, 0.85), rng.integer(2, 5), 255, -1, cv::LINE_AA);
    for (int i = 0, m = rng.integer(3, 10); i < m; ++i)
      cv::circle(comedo, random_inside(rng, s, 0.85), rng.integer(2, 4), 255, -1, cv::LINE_AA);
    soften(milia, 0.8);
    blend(les.layer, milia, Vec3(246, 240, 212), strength(0.75, 0.95));
    blend(les.layer, comedo, Vec3(62, 46, 36), strength(0.6, 0.8));
  } else if (diag == "dermatofibroma") {
    cv::Mat m = blank(p);
    cv::circle(m, cv::Point2f(static_cast<float>(s.cx), static_cast<float>(s.cy)), static_cast<int>(r0 * 0.35), 255, -1,
               cv::LINE_AA);
    soften(m, r0 * 0.1);
    blend(les.layer, m, Vec3(232, 222, 214), strength(0.6, 0.85));
  } else if (diag == "vascular lesion") {
    cv::Mat m = blank(p);
    for (int i = 0, n = rng.integer(6, 14); i < n; ++i)
      cv::circle(m, random_inside(rng, s, 0.75), static_cast<int>(r0 * rng.uniform(0.08, 0.18)), 255, -1, cv::LINE_AA);
    soften(m, 2);
    blend(les.layer, m, Vec3(135, 25, 55), strength(0.6, 0.85));
  } else if (group == "BCC" && rng.chance(0.5)) {
    cv::Mat m = blank(p);
    for (int i = 0, n = rng.integer(2, 5); i < n; ++i)
      cv::ellipse(m, random_inside(rng, s, 0.7),
                  cv::Size2f(static_cast<float>(r0 * rng.uniform(0.07, 0.14)), static_cast<float>(r0 * rng.uniform(0.04, 0.08))),
                  rng.uniform(0, 180), 0, 360, 255, -1, cv::LINE_AA);
    soften(m, 2);
    blend(les.layer, m, Vec3(98, 106, 128), strength(0.6, 0.8));
  }

  // Pigment network: a regular honeycomb (typical) or a broken, uneven, darker mesh (atypical).
  const std::string& pn = r.at("pigment_network");
  bool faint_network = pn == "absent" && rng.chance(0.12);
  if (pn != "absent" || faint_network) {
    bool atypical = pn == "atypical";
    double sp = r0 / 11.0 * rng.uniform(0.85, 1.15);
    int cells = static_cast<int>(p / sp) + 2;
    double jit = atypical ? 0.32 * sp : 0.07 * sp;
    std::vector<cv::Point2f> grid(static_cast<size_t>(cells * cells));
    for (int gy = 0; gy < cells; ++gy)
      for (int gx = 0; gx < cells; ++gx)
        grid[static_cast<size_t>(gy * cells + gx)] =
            cv::Point2f(static_cast<float>((gx + (gy % 2) * 0.5) * sp + rng.normal(0, jit)),
                        static_cast<float>(gy * sp * 0.87 + rng.normal(0, jit)));
    cv::Mat net = blank(p);
    double sector0 = rng.uniform(0, 2 * kPi), sector_w = atypical ? rng.uniform(kPi, 2 * kPi) : 2 * kPi;
    for (int gy = 0; gy < cells; ++gy)
      for (int gx = 0; gx < cells; ++gx) {
        cv::Point2f a = grid[static_cast<size_t>(gy * cells + gx)];
        if (atypical) {
          double ang = std::atan2(a.y - s.cy, a.x - s.cx) - sector0;
          while (ang < 0) ang += 2 * kPi;
          if (ang > sector_w) continue;
        }
        int nbrs[3][2] = {{1, 0}, {0, 1}, {(gy % 2) ? 1 : -1, 1}};
        for (auto& nb : nbrs) {
          int nx = gx + nb[0], ny = gy + nb[1];
          if (nx < 0 || ny < 0 || nx >= cells || ny >= cells) continue;
          if (atypical && rng.chance(0.25)) continue;
          int thick = atypical ? rng.integer(1, 3) : 1;
          int shade = atypical ? rng.integer(140, 255) : 230;
          cv::line(net, a, grid[static_cast<size_t>(ny * cells + nx)], shade, thick, cv::LINE_AA);
        }
      }
    cv::multiply(net, inner, net, 1.0 / 255.0);
    Vec3 col = atypical ? Vec3(38, 26, 22) : Vec3(70, 46, 32);
    blend(les.layer, net, jitter(rng, col, 5), faint_network ? 0.18f : (atypical ? strength(0.6, 0.85) : strength(0.45, 0.65)));
  }

  // Streaks at the periphery: evenly around the lesion (regular) or in one or two sectors (irregular).
  const std::string& st = r.at("streaks");
  if (st != "absent") {
    cv::Mat m = blank(p);
    Vec3 col = jitter(rng, Vec3(58, 38, 30), 6);
    if (st == "regular") {
      int n = rng.integer(14, 26);
      double len = rng.uniform(1.1, 1.2);
      for (int i = 0; i < n; ++i) {
        double th = 2 * kPi * i / n + rng.normal(0, 0.03);
        cv::line(m, s.point(th, 0.82), s.point(th, len), 255, 2, cv::LINE_AA);
      }
    } else {
      int sectors = rng.integer(1, 2);
      for (int k = 0; k < sectors; ++k) {
        double c0 = rng.uniform(0, 2 * kPi), w = rng.uniform(0.5, 1.2);
        for (int i = 0, n = rng.integer(4, 9); i < n; ++i) {
          double th = c0 + rng.uniform(-w / 2, w / 2);
          cv::Point2f a = s.point(th, rng.uniform(0.7, 0.85)), b = s.point(th + rng.normal(0, 0.05), rng.uniform(1.0, 1.32));
          int thick = rng.integer(1, 3);
          cv::line(m, a, b, 255, thick, cv::LINE_AA);
          if (rng.chance(0.4)) {
            cv::Point2f mid = (a + b) * 0.5f;
            cv::line(m, mid, s.point(th + rng.uniform(-0.25, 0.25), rng.uniform(1.05, 1.25)), 255, 1, cv::LINE_AA);
          }
        }
      }
    }
    blend(les.layer, m, col, 1.0f);
    raise_alpha(les.alpha, m, strength(0.7, 0.95));
  }

  // Dots and globules: uniform and symmetric (regular) or varied in size and scattered (irregular).
  const std::string& dg = r.at("dots_and_globules");
  {
    cv::Mat m = blank(p);
    if (dg == "regular") {
      int n = rng.integer(12, 28);
      int rad = rng.integer(2, 3);
      double ring = rng.uniform(0.3, 0.6);
      for (int i = 0; i < n; ++i) cv::circle(m, s.point(2 * kPi * i / n + rng.normal(0, 0.05), ring + rng.normal(0, 0.04)), rad, 255, -1, cv::LINE_AA);
      blend(les.layer, m, jitter(rng, Vec3(68, 44, 30), 6), strength(0.7, 0.9));
    } else if (dg == "irregular") {
      int clusters = rng.integer(1, 3);
      for (int c = 0; c < clusters; ++c) {
        cv::Point2f centre = random_inside(rng, s, 0.8);
        for (int i = 0, n = rng.integer(6, 16); i < n; ++i) {
          cv::Point2f q = centre + cv::Point2f(static_cast<float>(rng.normal(0, r0 * 0.2)), static_cast<float>(rng.normal(0, r0 * 0.2)));
          cv::circle(m, q, rng.integer(1, 6), 255, -1, cv::LINE_AA);
        }
      }
      cv::multiply(m, body, m, 1.0 / 255.0);
      blend(les.layer, m, jitter(rng, Vec3(36, 26, 24), 8), strength(0.75, 0.95));
    } else if (rng.chance(0.15)) {  // a few faint specks in lesions without dots/globules
      for (int i = 0, n = rng.integer(1, 5); i < n; ++i) cv::circle(m, random_inside(rng, s, 0.8), 2, 255, -1, cv::LINE_AA);
      blend(les.layer, m, Vec3(80, 55, 40), 0.25f);
    }
  }

  // Regression structures: blue-grey peppering and/or a white scar-like area.
  const std::string& rs = r.at("regression_structures");
  cv::Mat pale;
  if (rs == "white areas" || rs == "combinations" || r.at("vascular_structures") == "within regression") {
    pale = blank(p);
    cv::Point2f c = random_inside(rng, s, 0.5);
    for (int i = 0; i < 3; ++i)
      cv::ellipse(pale, c + cv::Point2f(static_cast<float>(rng.normal(0, r0 * 0.1)), static_cast<float>(rng.normal(0, r0 * 0.1))),
                  cv::Size2f(static_cast<float>(r0 * rng.uniform(0.15, 0.3)), static_cast<float>(r0 * rng.uniform(0.1, 0.25))),
                  rng.uniform(0, 180), 0, 360, 255, -1, cv::LINE_AA);
    soften(pale, 4);
    float k = (rs == "white areas" || rs == "combinations") ? strength(0.6, 0.8) : 0.45f;
    blend(les.layer, pale, Vec3(234, 226, 220), k);
  }
  if (rs == "blue areas" || rs == "combinations") {
    cv::Mat m = blank(p), haze = blank(p);
    cv::Point2f c = random_inside(rng, s, 0.55);
    double rad = r0 * rng.uniform(0.2, 0.35);
    cv::circle(haze, c, static_cast<int>(rad), 255, -1, cv::LINE_AA);
    soften(haze, 6);
    blend(les.layer, haze, Vec3(140, 148, 165), 0.3f);
    for (int i = 0, n = rng.integer(60, 150); i < n; ++i)
      cv::circle(m, c + cv::Point2f(static_cast<float>(rng.normal(0, rad * 0.5)), static_cast<float>(rng.normal(0, rad * 0.5))), 1, 255, -1,
                 cv::LINE_AA);
    blend(les.layer, m, Vec3(105, 115, 140), strength(0.6, 0.85));
  }

  // Blue-whitish veil: a structureless blue-grey blotch with a white haze.
  if (r.at("blue_whitish_veil") == "present") {
    cv::Mat m = blank(p);
    cv::Point2f c = random_inside(rng, s, 0.4);
    for (int i = 0; i < 3; ++i)
      cv::ellipse(m, c + cv::Point2f(static_cast<float>(rng.normal(0, r0 * 0.1)), static_cast<float>(rng.normal(0, r0 * 0.1))),
                  cv::Size2f(static_cast<float>(r0 * rng.uniform(0.2, 0.42)), static_cast<float>(r0 * rng.uniform(0.18, 0.36))),
                  rng.uniform(0, 180), 0, 360, 255, -1, cv::LINE_AA);
    cv::multiply(m, inner, m, 1.0 / 255.0);
    soften(m, 7);
    blend(les.layer, m, jitter(rng, Vec3(108, 128, 168), 6), strength(0.6, 0.85));
    blend(les.layer, m, Vec3(205, 212, 228), 0.18f);
  }

  // Vessels.
  const std::string& vs = r.at("vascular_structures");
  if (vs != "absent") {
    cv::Mat m = blank(p);
    if (vs == "arborizing") {
      for (int t = 0, n = rng.integer(2, 4); t < n; ++t)
        draw_tree(m, rng, random_inside(rng, s, 0.6), rng.uniform(0, 2 * kPi), r0 * rng.uniform(0.25, 0.4), 3, rng.integer(2, 3));
    } else if (vs == "comma" || vs == "wreath") {
      int n = rng.integer(8, 18);
      for (int i = 0; i < n; ++i) {
        cv::Point2f c = vs == "wreath" ? s.point(2 * kPi * i / n, 0.5) : random_inside(rng, s, 0.8);
        double start = vs == "wreath" ? std::atan2(c.y - s.cy, c.x - s.cx) * 180 / kPi + 90 : rng.uniform(0, 360);
        cv::ellipse(m, c, cv::Size(rng.integer(4, 7), rng.integer(3, 5)), start, 0, rng.uniform(90, 160), 255, 2, cv::LINE_AA);
      }
    } else if (vs == "hairpin") {
      for (int i = 0, n = rng.integer(6, 14); i < n; ++i) {
        cv::Point2f c = random_inside(rng, s, 0.8);
        double a = rng.uniform(0, 2 * kPi), len = rng.uniform(8, 14);
        cv::Point2f d(static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a))), n2(-d.y, d.x);
        cv::line(m, c + n2 * 2.5f, c + n2 * 2.5f + d * static_cast<float>(len), 255, 1, cv::LINE_AA);
        cv::line(m, c - n2 * 2.5f, c - n2 * 2.5f + d * static_cast<float>(len), 255, 1, cv::LINE_AA);
        cv::ellipse(m, c, cv::Size(3, 3), a * 180 / kPi + 90, 0, 180, 255, 1, cv::LINE_AA);
      }
    } else if (vs == "within regression") {
      cv::Point2f c = random_inside(rng, s, 0.4);
      for (int i = 0, n = rng.integer(4, 8); i < n; ++i) {
        cv::Point2f a = c + cv::Point2f(static_cast<float>(rng.normal(0, r0 * 0.15)), static_cast<float>(rng.normal(0, r0 * 0.15)));
        cv::line(m, a, a + cv::Point2f(static_cast<float>(rng.normal(0, 10)), static_cast<float>(rng.normal(0, 10))), 255, 1, cv::LINE_AA);
      }
    } else if (vs == "dotted") {
      cv::Point2f c = random_inside(rng, s, 0.4);
      double spread = r0 * rng.uniform(0.25, 0.6);
      for (int i = 0, n = rng.integer(30, 80); i < n; ++i)
        cv::circle(m, c + cv::Point2f(static_cast<float>(rng.normal(0, spread)), static_cast<float>(rng.normal(0, spread))),
                   rng.integer(1, 2), 255, -1, cv::LINE_AA);
      cv::multiply(m, body, m, 1.0 / 255.0);
    } else {  // linear irregular
      for (int i = 0, n = rng.integer(4, 9); i < n; ++i) {
        std::vector<cv::Point> line;
        cv::Point2f q = random_inside(rng, s, 0.7);
        double a = rng.uniform(0, 2 * kPi);
        for (int j = 0, k = rng.integer(4, 8); j < k; ++j) {
          line.push_back(q);
          a += rng.normal(0, 0.7);
          q += cv::Point2f(static_cast<float>(6 * std::cos(a)), static_cast<float>(6 * std::sin(a)));
        }
        cv::polylines(m, line, false, 255, rng.integer(1, 2), cv::LINE_AA);
      }
    }
    blend(les.layer, m, jitter(rng, Vec3(192, 42, 56), 8), strength(0.7, 0.92));
  }

  // Alpha: the lesion body (soft edge) at its opacity, raised where structures reach beyond it.
  cv::Mat body_alpha;
  edge.convertTo(body_alpha, CV_32FC1, opacity / 255.0);
  les.alpha = cv::max(les.alpha, body_alpha);
  return les;
}

const std::vector<Vec3> kSkinTones = {Vec3(230, 192, 168), Vec3(218, 172, 142), Vec3(202, 152, 122), Vec3(178, 128, 98),
                                      Vec3(236, 204, 184)};

// Skin background with lighting (`gradient` for a directional light, vignette for the dermatoscope).
cv::Mat skin_background(Rng& rng, int w, int h, Vec3 tone, double gradient, double vignette) {
  cv::Mat img(h, w, CV_32FC3);
  cv::Mat blotch = smooth_noise(rng, w, h, 9, 7);
  double ga = rng.uniform(0, 2 * kPi), gx = std::cos(ga), gy = std::sin(ga);
  for (int y = 0; y < h; ++y) {
    Vec3* q = img.ptr<Vec3>(y);
    const float* b = blotch.ptr<float>(y);
    const float ny = static_cast<float>((y - h / 2.0) / (h / 2.0));
    const float g = static_cast<float>(gradient * 0.5), v = static_cast<float>(vignette * 0.5);
    const float fx = static_cast<float>(gx), fy = static_cast<float>(gy), step = 2.0f / static_cast<float>(w);
    for (int x = 0; x < w; ++x) {
      float nx = x * step - 1.0f;
      float light = 1.0f + g * (nx * fx + ny * fy) - v * (nx * nx + ny * ny) + 0.04f * b[x];
      q[x] = tone * light;
    }
  }
  return img;
}

void composite(cv::Mat& img, const Lesion& les, cv::Point top_left) {
  cv::Rect roi = cv::Rect(top_left, les.layer.size()) & cv::Rect(0, 0, img.cols, img.rows);
  for (int y = roi.y; y < roi.y + roi.height; ++y) {
    Vec3* q = img.ptr<Vec3>(y);
    const Vec3* l = les.layer.ptr<Vec3>(y - top_left.y);
    const float* a = les.alpha.ptr<float>(y - top_left.y);
    for (int x = roi.x; x < roi.x + roi.width; ++x) {
      float al = a[x - top_left.x];
      if (al > 0) q[x] = q[x] * (1 - al) + l[x - top_left.x] * al;
    }
  }
}

void draw_hairs(cv::Mat& img, Rng& rng) {
  if (!rng.chance(0.3)) return;
  cv::Mat m(img.rows, img.cols, CV_8UC1, cv::Scalar(0));
  for (int i = 0, n = rng.integer(1, 4); i < n; ++i) {
    std::vector<cv::Point> pts;
    cv::Point2f q(static_cast<float>(rng.uniform(0, img.cols)), static_cast<float>(rng.uniform(0, img.rows)));
    double a = rng.uniform(0, 2 * kPi);
    for (int j = 0; j < 12; ++j) {
      pts.push_back(q);
      a += rng.normal(0, 0.12);
      q += cv::Point2f(static_cast<float>(25 * std::cos(a)), static_cast<float>(25 * std::sin(a)));
    }
    cv::polylines(m, pts, false, 255, rng.integer(1, 2), cv::LINE_AA);
  }
  blend(img, m, Vec3(45, 32, 28), 0.8f);
}

// Per-pixel noise, the dark frame, then 8-bit RGB.
cv::Mat finish_image(cv::Mat& img, Rng& rng, double noise, int frame) {
  cv::Mat out(img.rows, img.cols, CV_8UC3);
  // Pixel noise needs hundreds of thousands of draws: a xorshift64* stream seeded from the case RNG
  // (exactly specified, so still portable) is several times cheaper than the Mersenne twister.
  uint64_t state = rng.next() | 1;
  const float scale = static_cast<float>(noise / 65535.0);
  auto tri = [&]() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    uint64_t v = state * 0x2545F4914F6CDD1DULL;
    return (static_cast<float>(v >> 48) + static_cast<float>((v >> 32) & 0xFFFF)) * scale - static_cast<float>(noise);
  };
  for (int y = 0; y < img.rows; ++y) {
    const Vec3* q = img.ptr<Vec3>(y);
    cv::Vec3b* o = out.ptr<cv::Vec3b>(y);
    bool in_frame_row = y < frame || y >= img.rows - frame;
    for (int x = 0; x < img.cols; ++x) {
      float n = tri();
      if (in_frame_row || x < frame || x >= img.cols - frame) {
        uchar v = static_cast<uchar>(std::clamp(14.0f + n * 0.5f, 0.0f, 255.0f));
        o[x] = cv::Vec3b(v, v, v);
        continue;
      }
      for (int c = 0; c < 3; ++c) o[x][c] = static_cast<uchar>(std::clamp(q[x][c] + n, 0.0f, 255.0f));
    }
  }
  return out;
}

struct CaseImages {
  std::string clinic_jpeg, derm_jpeg;
};

CaseImages render_case(const SynthCase& sc, uint64_t seed, int index, const SynthOptions& o) {
  Rng shape_rng(mix(seed, 1000003ULL + static_cast<uint64_t>(index)));
  const int side = std::min(o.width, o.height) - 2 * 25 - 10;
  Lesion les = draw_lesion(sc.row, shape_rng, std::max(32, side));
  const int p = les.layer.rows;
  Vec3 tone = jitter(shape_rng, kSkinTones[static_cast<size_t>(shape_rng.integer(0, 4))], 6);
  CaseImages out;

  // Dermoscopic: full detail, lesion near the centre, even dermatoscope light with a vignette.
  {
    Rng rng(mix(seed, 2000003ULL + static_cast<uint64_t>(index)));
    cv::Mat img = skin_background(rng, o.width, o.height, tone * static_cast<float>(rng.uniform(0.95, 1.05)), 0.05, 0.25);
    int slack_x = std::max(0, (o.width - p) / 2 - 25), slack_y = std::max(0, (o.height - p) / 2 - 25);
    cv::Point tl((o.width - p) / 2 + static_cast<int>(rng.uniform(-0.5, 0.5) * slack_x),
                 (o.height - p) / 2 + static_cast<int>(rng.uniform(-0.5, 0.5) * slack_y));
    composite(img, les, tl);
    draw_hairs(img, rng);
    cv::GaussianBlur(img, img, cv::Size(3, 3), 0.6);
    out.derm_jpeg = encode_jpeg_rgb(finish_image(img, rng, 7.0, 25), o.jpeg_quality);
  }
  // Clinical: the same lesion, smaller and blurred (less detail), under a directional, tinted light.
  if (!sc.clinic_missing) {
    Rng rng(mix(seed, 3000003ULL + static_cast<uint64_t>(index)));
    Vec3 cast(static_cast<float>(rng.uniform(0.95, 1.08)), static_cast<float>(rng.uniform(0.93, 1.02)),
              static_cast<float>(rng.uniform(0.85, 1.0)));
    Vec3 ctone(tone[0] * cast[0], tone[1] * cast[1], tone[2] * cast[2]);
    cv::Mat img = skin_background(rng, o.width, o.height, ctone * static_cast<float>(rng.uniform(0.85, 1.1)), 0.3, 0.05);
    double scale = rng.uniform(0.3, 0.45);
    int q = std::max(8, static_cast<int>(p * scale));
    Lesion small;
    cv::resize(les.layer, small.layer, cv::Size(q, q), 0, 0, cv::INTER_AREA);
    cv::resize(les.alpha, small.alpha, cv::Size(q, q), 0, 0, cv::INTER_AREA);
    cv::GaussianBlur(small.layer, small.layer, cv::Size(0, 0), 1.3);
    for (int y = 0; y < q; ++y) {
      Vec3* l = small.layer.ptr<Vec3>(y);
      for (int x = 0; x < q; ++x) l[x] = Vec3(l[x][0] * cast[0], l[x][1] * cast[1], l[x][2] * cast[2]);
    }
    cv::Point tl(static_cast<int>(rng.uniform(0.25, 0.75) * (o.width - q)), static_cast<int>(rng.uniform(0.25, 0.75) * (o.height - q)));
    composite(img, small, tl);
    draw_hairs(img, rng);
    out.clinic_jpeg = encode_jpeg_rgb(finish_image(img, rng, 9.0, 25), std::max(50, o.jpeg_quality - 8));
  }
  return out;
}

std::map<std::string, std::vector<int>> make_splits(const std::vector<SynthCase>& cases, uint64_t seed) {
  // Stratified by management so even small releases have every class in every split.
  Rng rng(mix(seed, 0x5B117));
  std::map<std::string, std::vector<int>> by_mgmt, splits;
  for (size_t i = 0; i < cases.size(); ++i) by_mgmt[cases[i].row.at("management")].push_back(static_cast<int>(i));
  splits["train"];
  splits["valid"];
  splits["test"];
  auto shuffle = [&](std::vector<int>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(rng.integer(0, static_cast<int>(i) - 1))]);
  };
  for (auto& [m, rows] : by_mgmt) {
    shuffle(rows);
    size_t n = rows.size();
    size_t n_train = static_cast<size_t>(std::lround(0.41 * n)), n_valid = static_cast<size_t>(std::lround(0.20 * n));
    for (size_t i = 0; i < n; ++i)
      splits[i < n_train ? "train" : (i < n_train + n_valid ? "valid" : "test")].push_back(rows[i]);
  }
  for (auto& [name, rows] : splits) shuffle(rows);  // the real index files are unsorted
  return splits;
}

}  // namespace

std::vector<SynthRow> synth_rows(int cases, uint64_t seed) {
  std::vector<SynthRow> rows;
  for (auto& c : make_cases(cases, seed)) rows.push_back(std::move(c.row));
  return rows;
}

std::map<std::string, std::vector<int>> synth_splits(int cases, uint64_t seed) {
  return make_splits(make_cases(cases, seed), seed);
}

void write_synthetic_release(const std::string& out_dir, const SynthOptions& options) {
  if (options.cases < 1) throw InputError("synth: --cases must be at least 1");
  if (options.width < 128 || options.height < 128 || options.width > 8192 || options.height > 8192)
    throw InputError("synth: image size must be between 128 and 8192 px per side");
  std::vector<SynthCase> cases = make_cases(options.cases, options.seed);
  auto splits = make_splits(cases, options.seed);

  std::string meta = csv_line(derm7pt_columns()) + "\n";
  for (const auto& c : cases) {
    std::vector<std::string> fields;
    for (const auto& col : derm7pt_columns()) fields.push_back(c.row.at(col));
    meta += csv_line(fields) + "\n";
  }
  for (const auto& name : derm7pt_split_names()) {
    std::string text = "indexes\n";
    for (int i : splits[name]) text += std::to_string(i) + "\n";
    write_file_atomic(join_path(out_dir, "meta/" + name + "_indexes.csv"), text);
  }

  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min(threads, options.cases);
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mu;
  const std::string images = join_path(out_dir, "images");
  for (const auto& f : kFolders) make_dirs(join_path(images, f));
  auto work = [&]() {
    for (int i = next++; i < options.cases && !failed; i = next++) {
      try {
        const SynthCase& sc = cases[static_cast<size_t>(i)];
        CaseImages im = render_case(sc, options.seed, i, options);
        write_file_atomic(join_path(images, sc.derm_disk), im.derm_jpeg);
        if (!sc.clinic_missing) write_file_atomic(join_path(images, sc.clinic_disk), im.clinic_jpeg);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(failure_mu);
        if (!failed) failure = e.what();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failed) throw InputError("synth: " + failure);
  // meta.csv last: a release folder is only complete once its metadata is in place.
  write_file_atomic(join_path(out_dir, "meta/meta.csv"), meta);
}

}  // namespace skintriage
