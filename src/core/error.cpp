#include "core/error.h"

#include <iostream>

namespace skintriage {

static std::string join_messages(const std::vector<std::string>& messages) {
  std::string out = std::to_string(messages.size()) + (messages.size() == 1 ? " error" : " errors");
  for (const auto& m : messages) out += "\n  " + m;
  return out;
}

InputErrors::InputErrors(std::vector<std::string> messages)
    : InputError(join_messages(messages)), messages_(std::move(messages)) {}

std::string located(const std::string& file, long line, const std::string& column, const std::string& message) {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!column.empty()) out += "column '" + column + "': ";
  return out + message;
}

int report_error(const std::exception& e) {
  std::cerr << "error: " << e.what() << "\n";
  return dynamic_cast<const InputError*>(&e) != nullptr ? 2 : 1;
}

}  // namespace skintriage
