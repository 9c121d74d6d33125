#include "report/paper.h"

namespace skintriage::report {

nlohmann::json paper_reference() {
  using nlohmann::json;
  return json{
      {"citation",
       "Abhishek K, Kawahara J, Hamarneh G. Predicting the clinical management of skin lesions using deep "
       "learning. Sci Rep 11, 7769 (2021)"},
      {"official",
       {{"MGMT_infr", {{"accuracy", 0.6253}, {"auroc_macro", 0.7741}}},
        {"MGMT_pred", {{"accuracy", 0.6987}, {"auroc_macro", 0.8443}}},
        {"MGMT_multi", {{"accuracy", 0.7367}, {"auroc_macro", 0.8505}}}}},
      {"cv",
       {{"MGMT_infr", {{"accuracy", 0.6139}}},
        {"MGMT_pred", {{"accuracy", 0.6974}}},
        {"MGMT_multi", {{"accuracy", 0.7301}}}}},
      // Table 4: the worst input subset and the best (CDM, which is MGMT_multi itself).
      {"ablation", {{"accuracy_min", 0.6051}, {"accuracy_max", 0.7367}, {"best_inputs", "CDM"}}},
      // MGMT_pred wrongly excised this many fewer test cases than MGMT_infr, of `test_cases`.
      {"over_excision_reduction", 97},
      {"test_cases", 395}};
}

}  // namespace skintriage::report
