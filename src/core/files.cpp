#include "core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"

namespace fs = std::filesystem;

namespace skintriage {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open file for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path + ": read error");
  return ss.str();
}

void make_dirs(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw InputError(path + ": cannot create folder: " + ec.message());
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  fs::path target(path);
  if (target.has_parent_path()) make_dirs(target.parent_path().string());
  std::random_device rd;
  std::string tmp = path + ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw InputError(path + ": cannot write file");
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      throw InputError(path + ": write failed (disk full?)");
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw InputError(path + ": cannot move temporary file into place");
  }
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string join_path(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

std::string resolve_case_insensitive(const std::string& root, const std::string& relative) {
  std::string exact = join_path(root, relative);
  if (file_exists(exact)) return exact;
  fs::path current(root.empty() ? "." : root);
  for (const auto& part : split(relative, '/')) {
    if (part.empty() || part == ".") continue;
    std::error_code ec;
    fs::path exact_child = current / part;
    if (fs::exists(exact_child, ec)) {
      current = exact_child;
      continue;
    }
    std::string want = to_lower(part);
    fs::path found;
    int matches = 0;
    for (fs::directory_iterator it(current, ec), end; !ec && it != end; it.increment(ec)) {
      if (to_lower(it->path().filename().string()) == want) {
        found = it->path();
        ++matches;
      }
    }
    if (matches != 1) return "";
    current = found;
  }
  return file_exists(current.string()) ? current.string() : "";
}

std::string hash_hex(const std::string& bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace skintriage
