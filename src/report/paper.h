// The published numbers of the paper this project re-implements, for side-by-side comparison.
//
// Abhishek, Kawahara & Hamarneh, "Predicting the clinical management of skin lesions using deep
// learning", Scientific Reports 11:7769 (2021), derm7pt. Only figures we are certain of are listed;
// anything else is left out rather than guessed. "auroc_macro" is the paper's averaged AUROC over
// the three management classes.
#pragma once
#include <nlohmann/json.hpp>

namespace skintriage::report {

/// {"citation", "official": {MODEL: {"accuracy", "auroc_macro"}}, "cv": {MODEL: {"accuracy"}},
///  "ablation": {"accuracy_min", "accuracy_max"}, "over_excision_reduction", "test_cases"}.
nlohmann::json paper_reference();

}  // namespace skintriage::report
