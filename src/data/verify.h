// Decoding check of many image files at once (`data check --verify-images`): every file is
// decoded through the one image loader, in parallel, and every failure is reported.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace skintriage {

/// Decodes each (path, context) pair; returns one "context: message" per file that is missing or
/// corrupt, in input order. threads = 0 uses the hardware concurrency.
std::vector<std::string> verify_images(const std::vector<std::pair<std::string, std::string>>& files, int threads);

}  // namespace skintriage
