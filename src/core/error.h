// Error types shared by every module.
//
// skintriage never crashes on bad input: loaders throw one of these with a message that names
// the file, the row and the field, and the CLI turns them into a one-line error and exit code 2.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace skintriage {

/// Bad user input: a file, a row, a field. `what()` is the full human-readable message.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

/// Several input errors found in one pass (e.g. every missing image of a release, not only the first).
class InputErrors : public InputError {
 public:
  explicit InputErrors(std::vector<std::string> messages);
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::vector<std::string> messages_;
};

/// Formats "file:line: column 'c': message" (line 0 or empty column are left out).
std::string located(const std::string& file, long line, const std::string& column, const std::string& message);

/// What a command-line tool does with an exception that reached its `main`: prints "error: <message>" on
/// stderr and returns the exit code, 2 for bad input (InputError), 1 for anything else.
int report_error(const std::exception& e);

}  // namespace skintriage
