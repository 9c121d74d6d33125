#include "train/feature_cache.h"

#include <chrono>
#include <cstring>
#include <unordered_map>

#include "core/error.h"
#include "core/files.h"
#include "data/image.h"
#include "model/state_dict.h"
#include "train/augment.h"
#include "train/pipeline.h"
#include "train/progress.h"

namespace skintriage {

// ---------------------------------------------------------------- ImageStore

cv::Mat ImageStore::get(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = images_.find(path);
    if (it != images_.end()) return it->second;
  }
  cv::Mat cropped = crop_border(load_image_rgb(path), crop_border_).clone();
  size_t size = cropped.total() * cropped.elemSize();
  std::lock_guard<std::mutex> lock(mu_);
  if (bytes_ + size <= budget_ && !images_.count(path)) {
    images_.emplace(path, cropped);
    bytes_ += size;
  }
  return cropped;
}

torch::Tensor prepare_image(const cv::Mat& cropped, const Preprocessing& pre, const AugmentConfig* augment,
                            uint64_t seed) {
  if (augment && augment->enabled) return image_to_tensor(augment_image(cropped, *augment, seed), pre);
  return image_to_tensor(cropped, pre);
}

std::string module_hash(const torch::nn::Module& module) {
  std::string bytes;
  for (const auto& [name, tensor] : module_state(module)) {
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    bytes += name;
    bytes += '[';
    for (auto s : t.sizes()) bytes += std::to_string(s) + ",";
    bytes += std::string(t.dtype().name()) + "]";
    bytes.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  }
  return hash_hex(bytes);
}

std::string FeatureSettings::describe() const {
  return "skintriage-features-v1|backbone=" + backbone_hash + "|pre=" + preprocessing.to_json().dump() +
         "|crop=" + std::to_string(crop_border) + "|augment=" + augment.to_json().dump();
}

// ---------------------------------------------------------------- FeatureCache

namespace {

constexpr char kMagic[8] = {'S', 'K', 'F', 'C', '0', '0', '1', '\n'};

struct MemoryCache {
  std::mutex mu;
  std::unordered_map<std::string, torch::Tensor> entries;  // key -> [views, F]
};
MemoryCache& memory() {
  static MemoryCache m;
  return m;
}

uint64_t hex_to_u64(const std::string& hex) {
  uint64_t v = 0;
  for (char c : hex) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v |= static_cast<uint64_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= static_cast<uint64_t>(c - 'A' + 10);
  }
  return v;
}

std::string encode_entry(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  int32_t dims[2] = {static_cast<int32_t>(c.size(0)), static_cast<int32_t>(c.size(1))};
  std::string out(kMagic, sizeof kMagic);
  out.append(reinterpret_cast<const char*>(dims), sizeof dims);
  out.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * sizeof(float));
  return out;
}

// Empty tensor when the file is missing, truncated or not ours.
torch::Tensor decode_entry(const std::string& path) {
  if (!file_exists(path)) return {};
  std::string bytes;
  try {
    bytes = read_text_file(path);
  } catch (const InputError&) {
    return {};
  }
  if (bytes.size() < sizeof kMagic + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return {};
  int32_t dims[2];
  std::memcpy(dims, bytes.data() + sizeof kMagic, sizeof dims);
  if (dims[0] <= 0 || dims[1] <= 0 || dims[0] > 4096 || dims[1] > (1 << 20)) return {};
  size_t n = static_cast<size_t>(dims[0]) * static_cast<size_t>(dims[1]);
  if (bytes.size() != sizeof kMagic + sizeof dims + n * sizeof(float)) return {};
  torch::Tensor t = torch::empty({dims[0], dims[1]}, torch::kFloat32);
  std::memcpy(t.data_ptr(), bytes.data() + sizeof kMagic + sizeof dims, n * sizeof(float));
  if (!torch::isfinite(t).all().item<bool>()) return {};
  return t;
}

struct Lookup {
  std::string key;
  uint64_t content_seed = 0;
  std::string content_hash;
  torch::Tensor cached;  // [have, F] or undefined
};

struct Job {
  size_t item;  // index into paths
  int view;
};

struct Chunk {
  std::vector<size_t> jobs;  // indices into the job list
  torch::Tensor images;      // [B,3,S,S]
};

}  // namespace

FeatureCache::FeatureCache(std::string disk_dir) : dir_(std::move(disk_dir)) {
  if (!dir_.empty()) {
    try {
      make_dirs(dir_);
    } catch (const InputError& e) {
      // A read-only location only costs the on-disk reuse, never correctness.
      progress_line(true, std::string("warning: feature cache on disk disabled: ") + e.what());
      dir_.clear();
    }
  }
}

void FeatureCache::clear_memory() {
  std::lock_guard<std::mutex> lock(memory().mu);
  memory().entries.clear();
}

std::vector<torch::Tensor> FeatureCache::embeddings(const std::vector<std::string>& paths,
                                                    const std::vector<int>& views,
                                                    const FeatureSettings& settings, const EmbedFn& embed,
                                                    int workers, int batch, bool progress) {
  if (paths.size() != views.size()) throw std::logic_error("FeatureCache: paths and views differ in length");
  const std::string prefix = settings.describe();
  const size_t n = paths.size();

  // Phase 1: hash every image's bytes (the key) and look the entries up, in parallel.
  std::vector<Lookup> look(n);
  {
    OrderedPrefetcher<Lookup> pf(n, workers, static_cast<size_t>(4 * (workers + 1)), [&](size_t i) {
      Lookup l;
      std::string bytes = read_text_file(paths[i]);
      l.content_hash = hash_hex(bytes);
      l.content_seed = hex_to_u64(l.content_hash);
      l.key = hash_hex(prefix + "|image=" + l.content_hash);
      {
        std::lock_guard<std::mutex> lock(memory().mu);
        auto it = memory().entries.find(l.key);
        if (it != memory().entries.end()) l.cached = it->second;
      }
      if ((!l.cached.defined() || l.cached.size(0) < views[i]) && !dir_.empty()) {
        torch::Tensor disk = decode_entry(join_path(dir_, l.key + ".bin"));
        if (disk.defined() && (!l.cached.defined() || disk.size(0) > l.cached.size(0))) l.cached = disk;
      }
      return l;
    });
    for (size_t i = 0; i < n; ++i) look[i] = pf.next();
  }

  // Phase 2: compute the missing views, batched, decoding ahead on the worker threads.
  std::vector<Job> jobs;
  std::vector<torch::Tensor> result(n);
  for (size_t i = 0; i < n; ++i) {
    int have = look[i].cached.defined() ? static_cast<int>(look[i].cached.size(0)) : 0;
    int want = views[i];
    hits_ += std::min(have, want);
    for (int v = have; v < want; ++v) jobs.push_back({i, v});
  }
  misses_ += static_cast<long>(jobs.size());
  std::map<size_t, std::vector<torch::Tensor>> computed;  // item -> new view rows
  if (!jobs.empty()) {
    auto t0 = std::chrono::steady_clock::now();
    const size_t bs = static_cast<size_t>(std::max(1, batch));
    const size_t chunks = (jobs.size() + bs - 1) / bs;
    const Preprocessing& pre = settings.preprocessing;
    OrderedPrefetcher<Chunk> pf(chunks, workers, static_cast<size_t>(workers + 1), [&](size_t c) {
      Chunk ch;
      std::vector<torch::Tensor> tensors;
      size_t begin = c * bs, end = std::min(jobs.size(), begin + bs);
      size_t decoded_item = static_cast<size_t>(-1);
      cv::Mat cropped;
      for (size_t j = begin; j < end; ++j) {
        const Job& job = jobs[j];
        if (job.item != decoded_item) {
          std::string bytes = read_text_file(paths[job.item]);
          if (hash_hex(bytes) != look[job.item].content_hash)
            throw InputError(paths[job.item] + ": image changed while features were being computed");
          cropped = crop_border(decode_image_rgb(bytes, paths[job.item]), settings.crop_border);
          decoded_item = job.item;
        }
        uint64_t seed = mix_seed(look[job.item].content_seed, static_cast<uint64_t>(job.view));
        tensors.push_back(prepare_image(cropped, pre, job.view > 0 ? &settings.augment : nullptr, seed));
        ch.jobs.push_back(j);
      }
      ch.images = torch::stack(tensors);
      return ch;
    });
    Progress bar("features", static_cast<long>(jobs.size()), "img", progress);
    long done = 0;
    torch::NoGradGuard no_grad;
    while (!pf.done()) {
      Chunk ch = pf.next();
      torch::Tensor emb = embed(ch.images).to(torch::kFloat32).contiguous();
      for (size_t r = 0; r < ch.jobs.size(); ++r) {
        const Job& job = jobs[ch.jobs[r]];
        auto& rows = computed[job.item];
        rows.push_back(emb[static_cast<int64_t>(r)].clone());
      }
      done += static_cast<long>(ch.jobs.size());
      bar.update(done);
    }
    bar.finish();
    compute_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  for (size_t i = 0; i < n; ++i) {
    torch::Tensor t = look[i].cached;
    auto it = computed.find(i);
    if (it != computed.end()) {
      torch::Tensor fresh = torch::stack(it->second);
      t = t.defined() ? torch::cat({t, fresh}) : fresh;
      {
        std::lock_guard<std::mutex> lock(memory().mu);
        auto& slot = memory().entries[look[i].key];
        if (!slot.defined() || slot.size(0) < t.size(0)) slot = t;
      }
      if (!dir_.empty()) write_file_atomic(join_path(dir_, look[i].key + ".bin"), encode_entry(t));
    } else if (t.defined()) {
      std::lock_guard<std::mutex> lock(memory().mu);
      auto& slot = memory().entries[look[i].key];
      if (!slot.defined() || slot.size(0) < t.size(0)) slot = t;
    }
    result[i] = t.slice(0, 0, views[i]);
  }
  return result;
}

}  // namespace skintriage
