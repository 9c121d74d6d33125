// A synthetic derm7pt release: the embedded default dataset for demos and tests.
//
// write_synthetic_release() writes exactly the real layout (meta/meta.csv with its 19 columns and
// vocabularies, the three index files, images/<folder>/<file> JPEGs with a dark 25-px frame).
// Labels follow the real data's dependence (melanoma and BCC excised; nevi split between excision
// and follow-up, excised more often with a higher seven-point score; MISC/SK mostly no further
// examination); each case's lesion is drawn so that its look carries the labels (asymmetry and
// border irregularity, colour variegation, network, streaks, dots, veil, vessels, regression),
// under noise. Everything is deterministic for a seed: the generator uses std::mt19937 with its
// own uniform/normal transforms (std::*_distribution differ between standard libraries).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace skintriage {

struct SynthOptions {
  int cases = 300;
  uint64_t seed = 1;
  int width = 768;   ///< image size (the real release is about 768x512)
  int height = 512;
  int threads = 0;   ///< 0 = hardware concurrency
  int jpeg_quality = 90;
};

/// One synthetic case's meta.csv fields by column name (the 19 derm7pt columns).
using SynthRow = std::map<std::string, std::string>;

/// The label rows alone (no images): deterministic for (cases, seed); row i is case i.
std::vector<SynthRow> synth_rows(int cases, uint64_t seed);

/// Which split each row goes to (train ~41%, valid ~20%, test ~39%), as 0-based row lists.
std::map<std::string, std::vector<int>> synth_splits(int cases, uint64_t seed);

/// Writes a complete release into `out_dir` (created; existing release files are replaced).
void write_synthetic_release(const std::string& out_dir, const SynthOptions& options);

}  // namespace skintriage
