#include "data/dataset.h"

#include "core/error.h"
#include "data/finish_load.h"

namespace skintriage {

int HeadSpec::index_of(const std::string& cls) const {
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i] == cls) return static_cast<int>(i);
  return -1;
}

const HeadSpec* Dataset::head(const std::string& name) const {
  for (const auto& h : heads)
    if (h.name == name) return &h;
  return nullptr;
}

const std::vector<int>& Dataset::split(const std::string& name) const {
  auto it = splits.find(name);
  if (it == splits.end()) throw InputError(source + ": no split named '" + name + "'");
  return it->second;
}

int Dataset::missing_clinical() const {
  int n = 0;
  for (const auto& c : cases) n += c.clinic_path.empty() ? 1 : 0;
  return n;
}

Dataset finish_load(Dataset data, const std::vector<std::string>& errors, std::vector<std::string>* errors_out) {
  if (errors_out) {
    errors_out->insert(errors_out->end(), errors.begin(), errors.end());
    return data;
  }
  if (!errors.empty()) throw InputErrors(errors);
  return data;
}

}  // namespace skintriage
