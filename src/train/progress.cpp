#include "train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "core/strings.h"

namespace skintriage {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  long s = static_cast<long>(std::lround(seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

void progress_line(bool enabled, const std::string& line) {
  if (!enabled) return;
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

Progress::Progress(std::string what, long total, std::string unit, bool enabled)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      tty_(enabled && ::isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() {
  if (tty_ && !finished_) std::fprintf(stderr, "\n");
}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(long done, const std::string& note) {
  done_ = done;
  if (!enabled_) return;
  double sec = seconds();
  double rate = sec > 0 ? done / sec : 0;
  double eta = rate > 0 ? (total_ - done) / rate : NAN;
  if (tty_) {
    auto now = std::chrono::steady_clock::now();
    if (done < total_ && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
    last_draw_ = now;
    const int width = 24;
    int filled = total_ > 0 ? static_cast<int>(width * done / total_) : 0;
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
    std::fprintf(stderr, "\r%s [%s] %ld/%ld %s  %s %s/s  ETA %s  %s\033[K", what_.c_str(), bar.c_str(), done, total_,
                 unit_.c_str(), fixed(rate, 1).c_str(), unit_.c_str(), format_duration(eta).c_str(), note.c_str());
    std::fflush(stderr);
    return;
  }
  int decile = total_ > 0 ? static_cast<int>(10 * done / total_) : 10;
  if (decile == last_decile_ || done >= total_) return;
  last_decile_ = decile;
  if (done == 0) return;
  std::fprintf(stderr, "%s: %ld/%ld %s, %s %s/s, ETA %s %s\n", what_.c_str(), done, total_, unit_.c_str(),
               fixed(rate, 1).c_str(), unit_.c_str(), format_duration(eta).c_str(), note.c_str());
  std::fflush(stderr);
}

void Progress::finish(const std::string& note) {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  double sec = seconds();
  double rate = sec > 0 ? done_ / sec : 0;
  if (tty_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s: %ld %s in %s (%s %s/s) %s\n", what_.c_str(), done_, unit_.c_str(),
               format_duration(sec).c_str(), fixed(rate, 1).c_str(), unit_.c_str(), note.c_str());
  std::fflush(stderr);
}

}  // namespace skintriage
