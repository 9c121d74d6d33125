// The data pipeline's one concurrency tool: an ordered, bounded, parallel producer.
//
// OrderedPrefetcher computes items 0..count-1 with `workers` threads (image decoding, augmentation,
// tensor conversion) while the caller consumes them in order (the forward/backward pass). At most
// `ahead` items are in flight or waiting, so memory stays bounded however long the epoch. A worker's
// exception is rethrown by next() for that item. With 0 workers items are produced inline. Because
// every item is a pure function of its index, results do not depend on the number of workers.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace skintriage {

template <typename T>
class OrderedPrefetcher {
 public:
  OrderedPrefetcher(size_t count, int workers, size_t ahead, std::function<T(size_t)> produce)
      : count_(count), ahead_(ahead < 1 ? 1 : ahead), produce_(std::move(produce)) {
    for (int w = 0; w < workers; ++w) threads_.emplace_back([this] { work(); });
  }
  ~OrderedPrefetcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  OrderedPrefetcher(const OrderedPrefetcher&) = delete;
  OrderedPrefetcher& operator=(const OrderedPrefetcher&) = delete;

  bool done() const { return consumed_ >= count_; }

  /// The next item in index order (blocks until it is ready).
  T next() {
    size_t index = consumed_;
    if (threads_.empty()) {
      ++consumed_;
      return produce_(index);
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return ready_.count(index) > 0; });
    Slot slot = std::move(ready_[index]);
    ready_.erase(index);
    ++consumed_;
    lock.unlock();
    cv_.notify_all();
    if (slot.error) std::rethrow_exception(slot.error);
    return std::move(*slot.value);
  }

 private:
  struct Slot {
    std::optional<T> value;
    std::exception_ptr error;
  };

  void work() {
    for (;;) {
      size_t index;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || (next_index_ < count_ && next_index_ < consumed_ + ahead_); });
        if (stop_) return;
        index = next_index_++;
      }
      Slot slot;
      try {
        slot.value.emplace(produce_(index));
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        ready_[index] = std::move(slot);
      }
      cv_.notify_all();
    }
  }

  size_t count_, ahead_;
  std::function<T(size_t)> produce_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<size_t, Slot> ready_;
  size_t next_index_ = 0;
  size_t consumed_ = 0;
  bool stop_ = false;
};

}  // namespace skintriage
