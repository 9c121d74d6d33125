// Small string helpers used across modules.
#pragma once
#include <string>
#include <vector>

namespace skintriage {

std::string trim(const std::string& s);
std::string to_lower(std::string s);
std::vector<std::string> split(const std::string& s, char sep);
bool starts_with(const std::string& s, const std::string& prefix);
bool ends_with(const std::string& s, const std::string& suffix);
/// Parses a whole string as an integer / double; false when it is not one (no partial parses).
bool parse_int(const std::string& s, long& out);
bool parse_double(const std::string& s, double& out);
/// Formats a double with `digits` decimals.
std::string fixed(double v, int digits);

}  // namespace skintriage
