// The derm7pt vocabularies, exactly as the official release writes them, and their groupings.
//
// Every raw string the release may contain is listed here; anything else is a data error. The
// loader (derm7pt.h), the synthetic release (synth.h) and the CSV manifest's metadata columns
// all use these tables, so there is one place where "clark nevus" becomes NEV and "dotted"
// vessels become IR. The metadata one-hot (14 dims) is the only non-image model input:
// `level_of_diagnostic_difficulty` and `seven_point_score` are validated but never model inputs
// (they leak the label).
#pragma once
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"

namespace skintriage {

/// Head names, in derm7pt_heads() order.
inline constexpr const char* kHeadMgmt = "MGMT";
inline constexpr const char* kHeadDiag = "DIAG";

/// One raw string and the grouped class it maps to.
struct VocabEntry {
  std::string raw;
  std::string cls;
};

/// A labelled column of meta.csv: its column name, the head it feeds and the raw -> class map.
struct ColumnVocab {
  std::string column;               ///< e.g. "pigment_network"
  std::string head;                 ///< e.g. "PN"
  std::vector<std::string> classes; ///< head classes in order, e.g. ABS, TYP, ATP
  std::vector<VocabEntry> entries;  ///< every accepted raw string
  /// Grouped class of a raw string; "" when the string is not in the vocabulary.
  std::string class_of(const std::string& raw) const;
  /// Index of the grouped class in `classes`; -1 when unknown.
  int index_of(const std::string& raw) const;
};

/// All heads in model order: MGMT(NONE,CLNC,EXC), DIAG(BCC,NEV,MEL,MISC,SK), PN(ABS,TYP,ATP),
/// STR(ABS,REG,IR), PIG(ABS,REG,IR), RS(ABS,PRS), DaG(ABS,REG,IR), BWV(ABS,PRS), VS(ABS,REG,IR).
std::vector<HeadSpec> derm7pt_heads();

/// management column -> MGMT (no further examination, clinical follow up, excision).
const ColumnVocab& management_vocab();
/// diagnosis column (20 raw strings) -> DIAG (5 groups, Kawahara et al. 2019).
const ColumnVocab& diagnosis_vocab();
/// The seven criteria columns in head order PN, STR, PIG, RS, DaG, BWV, VS.
const std::vector<ColumnVocab>& criteria_vocabs();
/// Every labelled column: management, diagnosis, then the seven criteria (the heads' order).
const std::vector<ColumnVocab>& label_vocabs();

/// level_of_diagnostic_difficulty values: low, medium, high.
const std::vector<std::string>& difficulty_values();

/// Metadata vocabularies (one-hot order).
const std::vector<std::string>& sex_values();        ///< female, male
const std::vector<std::string>& location_values();   ///< abdomen .. upper limbs (9)
const std::vector<std::string>& elevation_values();  ///< flat, nodular, palpable
/// Names of the 14 one-hot dims: "sex=female", ..., "location=head neck", ..., "elevation=palpable".
const std::vector<std::string>& meta_dim_names();
/// One-hot of the three metadata fields. An empty field leaves its group all zero (unknown);
/// any other value outside the vocabulary throws InputError naming the field and value.
std::array<float, kMetaDims> meta_one_hot(const std::string& sex, const std::string& location,
                                          const std::string& elevation);

/// Raw criteria strings of one case, as written in meta.csv.
struct RawCriteria {
  std::string pigment_network, streaks, pigmentation, regression_structures, dots_and_globules,
      blue_whitish_veil, vascular_structures;
};
/// The seven-point checklist score of raw criteria: 2 each for atypical network, blue-whitish
/// veil present, dotted or linear irregular vessels; 1 each for irregular pigmentation, irregular
/// streaks, irregular dots/globules, any regression structures. -1 when a value is not in the vocabulary.
int seven_point_score(const RawCriteria& c);

}  // namespace skintriage
