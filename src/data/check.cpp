#include "data/check.h"

#include <sstream>

#include "core/error.h"
#include "data/load.h"

namespace skintriage {

using nlohmann::json;

static json counts_by_split(const Dataset& data, const HeadSpec& head) {
  json out = json::object();
  for (const auto& [split, positions] : data.splits) {
    json counts = json::object();
    for (const auto& cls : head.classes) counts[cls] = 0;
    for (int p : positions) {
      const auto& labels = data.cases[static_cast<size_t>(p)].labels;
      auto it = labels.find(head.name);
      if (it != labels.end() && it->second >= 0 && it->second < static_cast<int>(head.classes.size()))
        counts[head.classes[static_cast<size_t>(it->second)]] = counts[head.classes[static_cast<size_t>(it->second)]].get<int>() + 1;
    }
    out[split] = counts;
  }
  return out;
}

json summarize_dataset(const Dataset& data) {
  json s = json::object();
  s["source"] = data.source;
  s["format"] = data.format;
  s["cases"] = data.cases.size();
  json splits = json::object();
  for (const auto& [name, positions] : data.splits) splits[name] = positions.size();
  s["splits"] = splits;
  s["management"] = json::object();
  s["diagnosis5"] = json::object();
  json labels = json::object();
  for (const auto& head : data.heads) {
    json counts = counts_by_split(data, head);
    labels[head.name] = counts;
    if (head.name == "MGMT") s["management"] = counts;
    if (head.name == "DIAG") s["diagnosis5"] = counts;
  }
  s["labels"] = labels;
  int missing_derm = 0, with_meta = 0;
  for (const auto& c : data.cases) {
    missing_derm += c.derm_path.empty() ? 1 : 0;
    with_meta += c.has_meta ? 1 : 0;
  }
  s["missing_clinical"] = data.missing_clinical();
  s["missing_dermoscopic"] = missing_derm;
  s["with_meta"] = with_meta;
  s["crop_border"] = data.crop_border;
  return s;
}

DataCheck check_dataset(const std::string& path, const DataOptions& options) {
  DataCheck check;
  Dataset data;
  try {
    data = load_dataset(path, options, &check.errors);
  } catch (const InputErrors& e) {
    for (const auto& m : e.messages()) check.errors.push_back(m);
    data.source = path;
  } catch (const InputError& e) {
    check.errors.push_back(e.what());
    data.source = path;
  }
  check.summary = summarize_dataset(data);
  check.summary["errors"] = check.errors;
  return check;
}

std::string format_check_text(const DataCheck& check) {
  const json& s = check.summary;
  std::ostringstream out;
  out << "dataset " << s.value("source", "") << " (" << s.value("format", "") << ")\n";
  out << "cases " << s["cases"].get<long>() << "; missing clinical " << s["missing_clinical"].get<long>()
      << "; missing dermoscopic " << s["missing_dermoscopic"].get<long>() << "; with metadata "
      << s["with_meta"].get<long>() << "; crop border " << s["crop_border"].get<int>() << " px\n";
  out << "splits:";
  for (auto& [name, n] : s["splits"].items()) out << " " << name << "=" << n.get<long>();
  out << "\n";
  for (auto& [head, by_split] : s["labels"].items()) {
    out << head << ":\n";
    for (auto& [split, counts] : by_split.items()) {
      out << "  " << split << ":";
      for (auto& [cls, n] : counts.items()) out << " " << cls << "=" << n.get<long>();
      out << "\n";
    }
  }
  if (check.errors.empty()) {
    out << "OK: no errors\n";
  } else {
    out << check.errors.size() << (check.errors.size() == 1 ? " error:\n" : " errors:\n");
    for (const auto& e : check.errors) out << "  " << e << "\n";
  }
  return out.str();
}

}  // namespace skintriage
