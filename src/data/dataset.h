// The in-memory dataset every later stage consumes, whatever file format it came from.
//
// A Dataset is a list of Cases plus named splits (lists of case positions) and the label heads
// it carries. derm7pt releases (derm7pt.h) and generic CSV manifests (manifest.h) both load into
// this, so training, evaluation and prediction never look at file formats.
#pragma once
#include <array>
#include <map>
#include <string>
#include <vector>

namespace skintriage {

/// One classification head: its short name (e.g. "MGMT") and ordered class names (e.g. NONE, CLNC, EXC).
struct HeadSpec {
  std::string name;
  std::vector<std::string> classes;
  int index_of(const std::string& cls) const;  ///< -1 when absent
};

/// Number of one-hot metadata dims: sex (2) + location (9) + elevation (3).
constexpr int kMetaDims = 14;

struct Case {
  int row = -1;                 ///< 0-based row in the source file
  std::string id;               ///< case_num / case id, unique within the dataset
  std::string clinic_path;      ///< resolved absolute/relative path, "" when the modality is missing
  std::string derm_path;        ///< resolved path, "" when missing
  bool has_meta = false;        ///< true when the metadata one-hot below is filled
  std::array<float, kMetaDims> meta{};  ///< one-hot sex/location/elevation
  std::map<std::string, int> labels;    ///< head name -> class index; absent head = unlabeled
  std::map<std::string, std::string> raw;  ///< raw string fields (diagnosis, difficulty, ...) for reports
};

struct Dataset {
  std::string source;                              ///< folder or manifest it was loaded from
  std::string format;                              ///< "derm7pt" or "manifest"
  std::vector<HeadSpec> heads;                     ///< heads with labels in this dataset
  std::vector<Case> cases;
  std::map<std::string, std::vector<int>> splits;  ///< "train"/"valid"/"test" -> positions in `cases`
  int crop_border = 0;                             ///< px to crop per image side (25 for derm7pt, 0 for manifests)

  const HeadSpec* head(const std::string& name) const;  ///< nullptr when absent
  /// Positions of cases in a split; InputError naming the split when it does not exist.
  const std::vector<int>& split(const std::string& name) const;
  /// Number of cases with a missing clinical image.
  int missing_clinical() const;
};

}  // namespace skintriage
