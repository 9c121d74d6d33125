#include "data/derm7pt_vocab.h"

#include "core/error.h"

namespace skintriage {

std::string ColumnVocab::class_of(const std::string& raw) const {
  for (const auto& e : entries)
    if (e.raw == raw) return e.cls;
  return "";
}

int ColumnVocab::index_of(const std::string& raw) const {
  std::string cls = class_of(raw);
  if (cls.empty()) return -1;
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i] == cls) return static_cast<int>(i);
  return -1;
}

const ColumnVocab& management_vocab() {
  static const ColumnVocab v{"management",
                             "MGMT",
                             {"NONE", "CLNC", "EXC"},
                             {{"no further examination", "NONE"}, {"clinical follow up", "CLNC"}, {"excision", "EXC"}}};
  return v;
}

const ColumnVocab& diagnosis_vocab() {
  static const ColumnVocab v{"diagnosis",
                             "DIAG",
                             {"BCC", "NEV", "MEL", "MISC", "SK"},
                             {{"basal cell carcinoma", "BCC"},
                              {"blue nevus", "NEV"},
                              {"clark nevus", "NEV"},
                              {"combined nevus", "NEV"},
                              {"congenital nevus", "NEV"},
                              {"dermal nevus", "NEV"},
                              {"dermatofibroma", "MISC"},
                              {"lentigo", "MISC"},
                              {"melanoma", "MEL"},
                              {"melanoma (in situ)", "MEL"},
                              {"melanoma (less than 0.76 mm)", "MEL"},
                              {"melanoma (0.76 to 1.5 mm)", "MEL"},
                              {"melanoma (more than 1.5 mm)", "MEL"},
                              {"melanoma metastasis", "MEL"},
                              {"melanosis", "MISC"},
                              {"miscellaneous", "MISC"},
                              {"recurrent nevus", "NEV"},
                              {"reed or spitz nevus", "NEV"},
                              {"seborrheic keratosis", "SK"},
                              {"vascular lesion", "MISC"}}};
  return v;
}

const std::vector<ColumnVocab>& criteria_vocabs() {
  static const std::vector<ColumnVocab> v = {
      {"pigment_network", "PN", {"ABS", "TYP", "ATP"}, {{"absent", "ABS"}, {"typical", "TYP"}, {"atypical", "ATP"}}},
      {"streaks", "STR", {"ABS", "REG", "IR"}, {{"absent", "ABS"}, {"regular", "REG"}, {"irregular", "IR"}}},
      {"pigmentation",
       "PIG",
       {"ABS", "REG", "IR"},
       {{"absent", "ABS"},
        {"diffuse regular", "REG"},
        {"localized regular", "REG"},
        {"diffuse irregular", "IR"},
        {"localized irregular", "IR"}}},
      {"regression_structures",
       "RS",
       {"ABS", "PRS"},
       {{"absent", "ABS"}, {"blue areas", "PRS"}, {"white areas", "PRS"}, {"combinations", "PRS"}}},
      {"dots_and_globules", "DaG", {"ABS", "REG", "IR"}, {{"absent", "ABS"}, {"regular", "REG"}, {"irregular", "IR"}}},
      {"blue_whitish_veil", "BWV", {"ABS", "PRS"}, {{"absent", "ABS"}, {"present", "PRS"}}},
      {"vascular_structures",
       "VS",
       {"ABS", "REG", "IR"},
       {{"absent", "ABS"},
        {"arborizing", "REG"},
        {"comma", "REG"},
        {"hairpin", "REG"},
        {"within regression", "REG"},
        {"wreath", "REG"},
        {"dotted", "IR"},
        {"linear irregular", "IR"}}},
  };
  return v;
}

const std::vector<ColumnVocab>& label_vocabs() {
  static const std::vector<ColumnVocab> v = [] {
    std::vector<ColumnVocab> all = {management_vocab(), diagnosis_vocab()};
    for (const auto& c : criteria_vocabs()) all.push_back(c);
    return all;
  }();
  return v;
}

std::vector<HeadSpec> derm7pt_heads() {
  std::vector<HeadSpec> heads;
  for (const auto& v : label_vocabs()) heads.push_back(HeadSpec{v.head, v.classes});
  return heads;
}

const std::vector<std::string>& difficulty_values() {
  static const std::vector<std::string> v = {"low", "medium", "high"};
  return v;
}

const std::vector<std::string>& sex_values() {
  static const std::vector<std::string> v = {"female", "male"};
  return v;
}

const std::vector<std::string>& location_values() {
  static const std::vector<std::string> v = {"abdomen",   "acral",      "back",        "buttocks",   "chest",
                                             "genital areas", "head neck", "lower limbs", "upper limbs"};
  return v;
}

const std::vector<std::string>& elevation_values() {
  static const std::vector<std::string> v = {"flat", "nodular", "palpable"};
  return v;
}

const std::vector<std::string>& meta_dim_names() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> names;
    for (const auto& s : sex_values()) names.push_back("sex=" + s);
    for (const auto& s : location_values()) names.push_back("location=" + s);
    for (const auto& s : elevation_values()) names.push_back("elevation=" + s);
    return names;
  }();
  return v;
}

static void set_group(std::array<float, kMetaDims>& out, int offset, const std::vector<std::string>& values,
                      const std::string& field, const std::string& value) {
  if (value.empty()) return;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == value) {
      out[static_cast<size_t>(offset) + i] = 1.0f;
      return;
    }
  }
  std::string allowed;
  for (const auto& v : values) allowed += (allowed.empty() ? "" : ", ") + v;
  throw InputError(field + ": unknown value '" + value + "' (expected one of: " + allowed + ")");
}

std::array<float, kMetaDims> meta_one_hot(const std::string& sex, const std::string& location,
                                          const std::string& elevation) {
  std::array<float, kMetaDims> out{};
  const int n_sex = static_cast<int>(sex_values().size());
  const int n_loc = static_cast<int>(location_values().size());
  set_group(out, 0, sex_values(), "sex", sex);
  set_group(out, n_sex, location_values(), "location", location);
  set_group(out, n_sex + n_loc, elevation_values(), "elevation", elevation);
  return out;
}

int seven_point_score(const RawCriteria& c) {
  const auto& cv = criteria_vocabs();
  // Every value must be in its vocabulary, otherwise the score is undefined.
  const std::string* fields[] = {&c.pigment_network,   &c.streaks,           &c.pigmentation,
                                 &c.regression_structures, &c.dots_and_globules, &c.blue_whitish_veil,
                                 &c.vascular_structures};
  for (size_t i = 0; i < cv.size(); ++i)
    if (cv[i].class_of(*fields[i]).empty()) return -1;
  int score = 0;
  if (c.pigment_network == "atypical") score += 2;
  if (c.blue_whitish_veil == "present") score += 2;
  if (c.vascular_structures == "dotted" || c.vascular_structures == "linear irregular") score += 2;
  if (cv[2].class_of(c.pigmentation) == "IR") score += 1;
  if (c.streaks == "irregular") score += 1;
  if (c.dots_and_globules == "irregular") score += 1;
  if (c.regression_structures != "absent") score += 1;
  return score;
}

}  // namespace skintriage
