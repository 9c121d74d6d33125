// Progress output on stderr: a one-line bar with ETA and items/s when stderr is a terminal, plain
// lines (start, every ~10%, end) otherwise so logs and CI output stay readable. Torch-free.
#pragma once
#include <chrono>
#include <string>

namespace skintriage {

class Progress {
 public:
  /// `what` labels the line (e.g. "features", "epoch 3/30"); `unit` names the items ("img").
  Progress(std::string what, long total, std::string unit, bool enabled);
  ~Progress();
  /// Sets the number of items done; `note` is appended (e.g. "loss 0.53").
  void update(long done, const std::string& note = "");
  /// Ends the line (bar mode) or prints the final line.
  void finish(const std::string& note = "");
  double seconds() const;

 private:
  std::string what_, unit_;
  long total_ = 0, done_ = 0;
  bool enabled_ = false, tty_ = false, finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// Prints one plain line to stderr (when enabled).
void progress_line(bool enabled, const std::string& line);

/// "1:05" style duration.
std::string format_duration(double seconds);

}  // namespace skintriage
