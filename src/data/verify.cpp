#include "data/verify.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/error.h"
#include "core/files.h"
#include "data/image.h"

namespace skintriage {

std::vector<std::string> verify_images(const std::vector<std::pair<std::string, std::string>>& files, int threads) {
  std::vector<std::string> result(files.size());
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min<int>(threads, static_cast<int>(std::max<size_t>(1, files.size())));
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (size_t i = next++; i < files.size(); i = next++) {
      try {
        if (!file_exists(files[i].first)) throw InputError(files[i].first + ": image file not found");
        std::string bytes = read_text_file(files[i].first);
        decode_image_rgb(bytes, files[i].first);
        // OpenCV decodes a truncated JPEG with only a warning; a complete one ends with an EOI marker
        // (0xFFD9), possibly followed by a little padding.
        if (bytes.size() > 2 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
            static_cast<unsigned char>(bytes[1]) == 0xD8) {
          size_t tail = std::min<size_t>(bytes.size() - 2, 1024);
          if (bytes.find("\xFF\xD9", bytes.size() - tail) == std::string::npos)
            throw InputError(files[i].first + ": corrupt image (truncated JPEG: no end marker)");
        }
      } catch (const InputError& e) {
        result[i] = files[i].second + ": " + e.what();
      } catch (const std::exception& e) {
        result[i] = files[i].second + ": " + files[i].first + ": " + e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  std::vector<std::string> errors;
  for (auto& r : result)
    if (!r.empty()) errors.push_back(std::move(r));
  return errors;
}

}  // namespace skintriage
