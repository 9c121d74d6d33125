// Vocabularies and groupings of derm7pt, checked against the lists of the data specification.
#include <gtest/gtest.h>

#include "core/error.h"
#include "data/derm7pt_vocab.h"

using namespace skintriage;

static std::string grouped(const ColumnVocab& v, const std::string& raw) { return v.class_of(raw); }

TEST(Vocab, HeadsInModelOrder) {
  auto heads = derm7pt_heads();
  std::vector<std::pair<std::string, std::vector<std::string>>> expected = {
      {"MGMT", {"NONE", "CLNC", "EXC"}}, {"DIAG", {"BCC", "NEV", "MEL", "MISC", "SK"}}, {"PN", {"ABS", "TYP", "ATP"}},
      {"STR", {"ABS", "REG", "IR"}},     {"PIG", {"ABS", "REG", "IR"}},                 {"RS", {"ABS", "PRS"}},
      {"DaG", {"ABS", "REG", "IR"}},     {"BWV", {"ABS", "PRS"}},                       {"VS", {"ABS", "REG", "IR"}}};
  ASSERT_EQ(heads.size(), expected.size());
  for (size_t i = 0; i < heads.size(); ++i) {
    EXPECT_EQ(heads[i].name, expected[i].first);
    EXPECT_EQ(heads[i].classes, expected[i].second) << heads[i].name;
  }
}

TEST(Vocab, TwentyDiagnosesGroupedAsKawahara) {
  const auto& d = diagnosis_vocab();
  EXPECT_EQ(d.entries.size(), 20u);
  std::map<std::string, std::string> expected = {
      {"basal cell carcinoma", "BCC"},  {"blue nevus", "NEV"},          {"clark nevus", "NEV"},
      {"combined nevus", "NEV"},        {"congenital nevus", "NEV"},    {"dermal nevus", "NEV"},
      {"dermatofibroma", "MISC"},       {"lentigo", "MISC"},            {"melanoma", "MEL"},
      {"melanoma (in situ)", "MEL"},    {"melanoma (less than 0.76 mm)", "MEL"},
      {"melanoma (0.76 to 1.5 mm)", "MEL"}, {"melanoma (more than 1.5 mm)", "MEL"},
      {"melanoma metastasis", "MEL"},   {"melanosis", "MISC"},          {"miscellaneous", "MISC"},
      {"recurrent nevus", "NEV"},       {"reed or spitz nevus", "NEV"}, {"seborrheic keratosis", "SK"},
      {"vascular lesion", "MISC"}};
  for (const auto& [raw, cls] : expected) EXPECT_EQ(grouped(d, raw), cls) << raw;
  for (const auto& e : d.entries) EXPECT_TRUE(expected.count(e.raw)) << e.raw;
  // Exact strings only: case, spacing and abbreviations are rejected.
  for (const char* bad : {"Melanoma", "clark nevus ", " clark nevus", "nevus", "melanoma(in situ)", "BCC", ""})
    EXPECT_EQ(grouped(d, bad), "") << bad;
}

TEST(Vocab, CriteriaGroupings) {
  const auto& c = criteria_vocabs();
  ASSERT_EQ(c.size(), 7u);
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> expected = {
      {"pigment_network", {{"absent", "ABS"}, {"typical", "TYP"}, {"atypical", "ATP"}}},
      {"streaks", {{"absent", "ABS"}, {"regular", "REG"}, {"irregular", "IR"}}},
      {"pigmentation",
       {{"absent", "ABS"}, {"diffuse regular", "REG"}, {"localized regular", "REG"}, {"diffuse irregular", "IR"},
        {"localized irregular", "IR"}}},
      {"regression_structures", {{"absent", "ABS"}, {"blue areas", "PRS"}, {"white areas", "PRS"}, {"combinations", "PRS"}}},
      {"dots_and_globules", {{"absent", "ABS"}, {"regular", "REG"}, {"irregular", "IR"}}},
      {"blue_whitish_veil", {{"absent", "ABS"}, {"present", "PRS"}}},
      {"vascular_structures",
       {{"absent", "ABS"}, {"arborizing", "REG"}, {"comma", "REG"}, {"hairpin", "REG"}, {"within regression", "REG"},
        {"wreath", "REG"}, {"dotted", "IR"}, {"linear irregular", "IR"}}}};
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c[i].column, expected[i].first);
    EXPECT_EQ(c[i].entries.size(), expected[i].second.size()) << c[i].column;
    for (const auto& [raw, cls] : expected[i].second) EXPECT_EQ(c[i].class_of(raw), cls) << c[i].column << " " << raw;
    EXPECT_EQ(c[i].class_of("Absent"), "") << c[i].column;
    EXPECT_EQ(c[i].class_of("present "), "") << c[i].column;
  }
  EXPECT_EQ(c[0].index_of("atypical"), 2);
  EXPECT_EQ(c[6].index_of("linear irregular"), 2);
  EXPECT_EQ(c[6].index_of("unknown"), -1);
}

TEST(Vocab, Management) {
  const auto& m = management_vocab();
  EXPECT_EQ(m.class_of("no further examination"), "NONE");
  EXPECT_EQ(m.class_of("clinical follow up"), "CLNC");
  EXPECT_EQ(m.class_of("excision"), "EXC");
  EXPECT_EQ(m.index_of("excision"), 2);
  EXPECT_EQ(m.class_of("clinical follow-up"), "");
  EXPECT_EQ(m.class_of("Excision"), "");
  EXPECT_EQ(label_vocabs().size(), 9u);
  EXPECT_EQ(difficulty_values(), (std::vector<std::string>{"low", "medium", "high"}));
}

TEST(Vocab, MetadataOneHotLayout) {
  const auto& names = meta_dim_names();
  ASSERT_EQ(names.size(), static_cast<size_t>(kMetaDims));
  std::vector<std::string> expected = {"sex=female",        "sex=male",           "location=abdomen",
                                       "location=acral",    "location=back",      "location=buttocks",
                                       "location=chest",    "location=genital areas", "location=head neck",
                                       "location=lower limbs", "location=upper limbs", "elevation=flat",
                                       "elevation=nodular", "elevation=palpable"};
  EXPECT_EQ(names, expected);
  auto v = meta_one_hot("male", "head neck", "palpable");
  std::array<float, kMetaDims> want{};
  want[1] = want[8] = want[13] = 1.0f;
  EXPECT_EQ(v, want);
  auto w = meta_one_hot("female", "genital areas", "flat");
  float sum = 0;
  for (float x : w) sum += x;
  EXPECT_EQ(sum, 3.0f);
  EXPECT_EQ(w[0], 1.0f);
  EXPECT_EQ(w[7], 1.0f);
  EXPECT_EQ(w[11], 1.0f);
  // Empty = unknown (group left at zero); anything else outside the vocabulary is an error naming the field.
  auto u = meta_one_hot("", "back", "");
  EXPECT_EQ(u[4], 1.0f);
  EXPECT_EQ(u[0] + u[1] + u[11] + u[12] + u[13], 0.0f);
  try {
    meta_one_hot("male", "head and neck", "flat");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("location"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("head and neck"), std::string::npos) << e.what();
  }
  EXPECT_THROW(meta_one_hot("Male", "back", "flat"), InputError);
  EXPECT_THROW(meta_one_hot("male", "back", "raised"), InputError);
}

TEST(Vocab, SevenPointScore) {
  RawCriteria none{"absent", "absent", "absent", "absent", "absent", "absent", "absent"};
  EXPECT_EQ(seven_point_score(none), 0);
  RawCriteria all{"atypical", "irregular", "localized irregular", "combinations", "irregular", "present", "dotted"};
  EXPECT_EQ(seven_point_score(all), 10);
  // Major criteria: 2 each.
  RawCriteria a = none;
  a.pigment_network = "atypical";
  EXPECT_EQ(seven_point_score(a), 2);
  a.pigment_network = "typical";
  EXPECT_EQ(seven_point_score(a), 0);
  a = none;
  a.blue_whitish_veil = "present";
  EXPECT_EQ(seven_point_score(a), 2);
  for (const char* v : {"dotted", "linear irregular"}) {
    a = none;
    a.vascular_structures = v;
    EXPECT_EQ(seven_point_score(a), 2) << v;
  }
  for (const char* v : {"arborizing", "comma", "hairpin", "within regression", "wreath"}) {
    a = none;
    a.vascular_structures = v;
    EXPECT_EQ(seven_point_score(a), 0) << v;
  }
  // Minor criteria: 1 each.
  for (const char* v : {"diffuse irregular", "localized irregular"}) {
    a = none;
    a.pigmentation = v;
    EXPECT_EQ(seven_point_score(a), 1) << v;
  }
  for (const char* v : {"diffuse regular", "localized regular"}) {
    a = none;
    a.pigmentation = v;
    EXPECT_EQ(seven_point_score(a), 0) << v;
  }
  a = none;
  a.streaks = "irregular";
  EXPECT_EQ(seven_point_score(a), 1);
  a.streaks = "regular";
  EXPECT_EQ(seven_point_score(a), 0);
  a = none;
  a.dots_and_globules = "irregular";
  EXPECT_EQ(seven_point_score(a), 1);
  a.dots_and_globules = "regular";
  EXPECT_EQ(seven_point_score(a), 0);
  for (const char* v : {"blue areas", "white areas", "combinations"}) {
    a = none;
    a.regression_structures = v;
    EXPECT_EQ(seven_point_score(a), 1) << v;
  }
  a = none;
  a.streaks = "Irregular";
  EXPECT_EQ(seven_point_score(a), -1);
}
