// skintriage_bench: the C++ side of the benchmark harness (bench/run.sh runs it next to
// bench/bench_pytorch.py and prints the ratios).
//
// For the project's own backbones (model/backbone.h: mobilenet_v2, resnet18, resnet50 at 224,
// inception_v3 at 299) it measures inference images/s at batch 1 and 32, one training step at
// batch 16 (forward + cross-entropy + backward + SGD), and frozen-feature extraction (feature map +
// global average pooling at batch 32, what the features mode of training computes) in images/s and
// GFLOP/s. FLOPs are counted from the shapes of the convolutions and linear layers the forward pass
// actually runs (a RecordFunction observer on aten::convolution, aten::addmm and aten::mm), 2 per
// multiply-accumulate. The reference peak is the best single-precision GEMM the process can run,
// measured in the same run: torch::mm (the BLAS LibTorch is linked to) and the same product as a
// 1x1 convolution (oneDNN), best of several. With --epoch RELEASE it also times whole training
// epochs of the project's own pipeline (train/trainer.h run_training, finetune mode: decode, border
// crop, augmentation and resize on worker threads, decoded-image cache) on a derm7pt-format release.
//
// Not part of the test suite. Writes one JSON object (stdout or --out).
#include <ATen/record_function.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/allocator.h"
#include "core/blas.h"
#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "data/derm7pt_vocab.h"
#include "data/load.h"
#include "model/backbone.h"
#include "train/config.h"
#include "train/trainer.h"

namespace {

using skintriage::BackboneImpl;
using Json = nlohmann::json;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void log(const std::string& s) { std::cerr << s << std::endl; }

/// Median over `repeats` of the seconds per call of `iters` back-to-back calls, after `warmup` calls.
double timed(const std::function<void()>& fn, int warmup, int iters, int repeats) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> per_call;
  for (int r = 0; r < repeats; ++r) {
    double t0 = now();
    for (int i = 0; i < iters; ++i) fn();
    per_call.push_back((now() - t0) / iters);
  }
  std::sort(per_call.begin(), per_call.end());
  size_t n = per_call.size();
  return n % 2 ? per_call[n / 2] : 0.5 * (per_call[n / 2 - 1] + per_call[n / 2]);
}

// ----------------------------------------------------------------------------- FLOP counting

// The observer is a plain function pointer (RecordFunctionCallback's API), so it adds to a global.
int64_t g_flops = 0;

std::unique_ptr<at::ObserverContext> count_op(const at::RecordFunction& fn) {
  const std::string name = fn.name();
  auto in = fn.inputs();
  if (name == "aten::convolution" && in.size() >= 9 && in[0].isTensor() && in[1].isTensor()) {
    // convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
    const auto x = in[0].toTensor().sizes();
    const auto w = in[1].toTensor().sizes();  // [out, in/groups, kh, kw]
    auto stride = in[3].toIntVector(), pad = in[4].toIntVector(), dil = in[5].toIntVector();
    int64_t out_elems = x[0] * w[0];
    for (int d = 0; d < 2; ++d) {
      int64_t o = (x[2 + d] + 2 * pad[d] - dil[d] * (w[2 + d] - 1) - 1) / stride[d] + 1;
      out_elems *= o;
    }
    g_flops += 2 * out_elems * w[1] * w[2] * w[3];
  } else if ((name == "aten::addmm" && in.size() >= 3) || (name == "aten::mm" && in.size() >= 2)) {
    // The C++ frontend's linear layers call addmm (2-D input with bias) or matmul -> mm directly,
    // without an aten::linear frame, so the GEMMs themselves are counted.
    const size_t a = name == "aten::addmm" ? 1 : 0;
    if (in[a].isTensor() && in[a + 1].isTensor()) {
      const auto m1 = in[a].toTensor().sizes(), m2 = in[a + 1].toTensor().sizes();  // [M,K] x [K,N]
      if (m1.size() == 2 && m2.size() == 2) g_flops += 2 * m1[0] * m1[1] * m2[1];
    }
  }
  return nullptr;
}

/// FLOPs per image of `fn(x)` (x is a batch of one).
int64_t count_flops(const std::function<void()>& fn) {
  g_flops = 0;
  auto handle = at::addThreadLocalCallback(at::RecordFunctionCallback(count_op).needsInputs(true));
  fn();
  at::removeCallback(handle);
  return g_flops;
}

// ----------------------------------------------------------------------------- op profile

// Investigation (--op-profile): wall seconds per top-level aten op of a call, from a RecordFunction
// observer timing each op between its start and end callbacks.
struct OpTimer : at::ObserverContext {
  double start = 0;
};
std::map<std::string, std::pair<double, int64_t>> g_op_seconds;
int g_op_depth = 0;

std::unique_ptr<at::ObserverContext> op_start(const at::RecordFunction&) {
  auto ctx = std::make_unique<OpTimer>();
  ctx->start = now();
  ++g_op_depth;
  return ctx;
}
void op_end(const at::RecordFunction& fn, at::ObserverContext* ctx) {
  --g_op_depth;
  if (g_op_depth != 0 && !std::getenv("BENCH_NESTED_OPS")) return;  // outermost ops only (nested: inside their parent)
  auto& e = g_op_seconds[fn.name()];
  e.first += now() - static_cast<OpTimer*>(ctx)->start;
  e.second += 1;
}

/// Prints the ops of `calls` calls of `fn` sorted by their share of the time.
void op_profile(const std::string& what, const std::function<void()>& fn, int calls) {
  fn();
  g_op_seconds.clear();
  auto handle = at::addThreadLocalCallback(at::RecordFunctionCallback(op_start, op_end));
  double t0 = now();
  for (int i = 0; i < calls; ++i) fn();
  double total = now() - t0;
  at::removeCallback(handle);
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& [name, e] : g_op_seconds) rows.push_back({e.first, name + " x" + std::to_string(e.second / calls)});
  std::sort(rows.rbegin(), rows.rend());
  std::fprintf(stderr, "  op profile %s: %.2f ms per call\n", what.c_str(), 1e3 * total / calls);
  for (size_t i = 0; i < std::min<size_t>(rows.size(), std::getenv("BENCH_NESTED_OPS") ? 20 : 8); ++i)
    std::fprintf(stderr, "    %6.2f ms  %5.1f%%  %s\n", 1e3 * rows[i].first / calls, 100 * rows[i].first / total,
                 rows[i].second.c_str());
}

// ----------------------------------------------------------------------------- GEMM peak

Json gemm_peak(int64_t n, int repeats) {
  torch::NoGradGuard no_grad;
  const double flop = 2.0 * static_cast<double>(n) * n * n;
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  torch::mm_out(c, a, b);
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) best = std::min(best, timed([&] { torch::mm_out(c, a, b); }, 0, 1, 1));
  // The same product as a 1x1 convolution: [1, n, n/64, 64] x [n, n, 1, 1] runs oneDNN's GEMM.
  auto x = torch::randn({1, n, n / 64, 64}), w = torch::randn({n, n, 1, 1});
  torch::conv2d(x, w);
  double best_conv = 1e30;
  for (int r = 0; r < repeats; ++r) best_conv = std::min(best_conv, timed([&] { torch::conv2d(x, w); }, 0, 1, 1));
  Json j;
  j["n"] = n;
  j["mm_gflops"] = flop / best / 1e9;
  j["conv1x1_gflops"] = flop / best_conv / 1e9;
  j["peak_gflops"] = std::max(flop / best, flop / best_conv) / 1e9;
  return j;
}

// ----------------------------------------------------------------------------- compute benchmarks

struct Iterations {
  int warmup = 2, b1_iters = 5, repeats = 3;
  bool op_profile = false;  // investigation: per-op time of batch-1 and batch-32 inference
};

torch::Tensor pooled(BackboneImpl& net, const torch::Tensor& x) {
  return torch::adaptive_avg_pool2d(net.features(x), {1, 1}).flatten(1);
}

Json bench_arch(const std::string& arch, const Iterations& it) {
  torch::manual_seed(0);
  auto net = skintriage::make_backbone(arch, 1000);
  net->eval();
  const int64_t s = net->default_input_size();
  // Inputs in NCHW, as the data pipeline delivers them: the backbone moves them to its channels-last layout.
  auto input = [&](int64_t n) { return torch::randn({n, 3, s, s}); };
  Json r;
  r["input_size"] = s;
  auto x1 = input(1), x32 = input(32);
  {
    torch::InferenceMode guard;
    r["gflop_per_image_classify"] = count_flops([&] { net->classify(x1); }) / 1e9;
    r["gflop_per_image_features"] = count_flops([&] { pooled(*net, x1); }) / 1e9;
    r["infer_b1_ips"] = 1.0 / timed([&] { net->classify(x1); }, it.warmup, it.b1_iters, it.repeats);
    r["infer_b32_ips"] = 32.0 / timed([&] { net->classify(x32); }, 1, 1, it.repeats);
    r["features_b32_ips"] = 32.0 / timed([&] { pooled(*net, x32); }, 1, 1, it.repeats);
    if (it.op_profile) {
      op_profile(arch + " b1", [&] { net->classify(x1); }, 20);
      op_profile(arch + " b32", [&] { net->classify(x32); }, 2);
    }
  }
  r["features_gflops"] = r["features_b32_ips"].get<double>() * r["gflop_per_image_features"].get<double>();

  net->train();
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  auto x16 = input(16);
  auto y16 = torch::randint(0, 1000, {16}, torch::kLong);
  auto step = [&] {
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net->classify(x16), y16);
    loss.backward();
    opt.step();
  };
  r["train_b16_ips"] = 16.0 / timed(step, 1, 1, it.repeats);
  char line[256];
  std::snprintf(line, sizeof line, "  %s: b1 %.1f  b32 %.1f  train %.1f  features %.1f img/s (%.1f GFLOP/s)",
                arch.c_str(), r["infer_b1_ips"].get<double>(), r["infer_b32_ips"].get<double>(),
                r["train_b16_ips"].get<double>(), r["features_b32_ips"].get<double>(),
                r["features_gflops"].get<double>());
  log(line);
  return r;
}

// ----------------------------------------------------------------------------- training epochs

Json bench_epochs(const std::string& release, const std::string& arch, int batch, int workers, int epochs,
                  int threads, const std::string& work_dir) {
  skintriage::Dataset data = skintriage::load_dataset(release);
  skintriage::TrainConfig cfg;
  cfg.mode = "finetune";
  cfg.arch = arch;
  cfg.heads.clear();
  for (const auto& h : skintriage::derm7pt_heads()) cfg.heads.push_back(h.name);
  cfg.epochs = epochs;
  cfg.batch_size = batch;
  cfg.workers = workers;
  cfg.threads = threads;
  cfg.progress = false;
  skintriage::SplitSpec split;
  split.train = data.split("train");
  // A two-case validation split: selection runs every epoch, but its cost stays negligible.
  const auto& valid = data.split("valid");
  split.valid.assign(valid.begin(), valid.begin() + std::min<size_t>(2, valid.size()));
  skintriage::RunOptions options;
  options.write_predictions = false;
  const std::string run_dir = skintriage::join_path(work_dir, "epoch_run");
  std::filesystem::remove_all(run_dir);
  skintriage::run_training(data, cfg, run_dir, split, options);

  int images = 0;
  for (int p : split.train) {
    const auto& c = data.cases[static_cast<size_t>(p)];
    images += (c.clinic_path.empty() ? 0 : 1) + (c.derm_path.empty() ? 0 : 1);
  }
  Json j;
  j["arch"] = arch;
  j["batch"] = batch;
  j["workers"] = workers;
  j["cases"] = split.train.size();
  j["images"] = images;
  auto log_csv = skintriage::read_csv(skintriage::join_path(run_dir, "log.csv"));
  const int sec = log_csv.require_column("seconds");
  Json per_epoch = Json::array();
  for (size_t r = 0; r < log_csv.rows.size(); ++r) {
    double s = 0;
    if (!skintriage::parse_double(log_csv.at(r, sec), s) || s <= 0)
      throw skintriage::InputError(skintriage::located(log_csv.path, log_csv.rows[r].line, "seconds", "not a time"));
    per_epoch.push_back({{"seconds", s}, {"images_per_s", images / s}, {"cases_per_s", split.train.size() / s}});
    char line[160];
    std::snprintf(line, sizeof line, "  epoch %zu: %.1f s, %.1f images/s", r + 1, s, images / s);
    log(line);
  }
  j["epochs"] = per_epoch;
  // First epoch: images decoded from disk. Later epochs: decoded images come from the in-memory cache.
  j["cold"] = per_epoch.front();
  j["warm"] = per_epoch.back();
  std::filesystem::remove_all(run_dir);
  return j;
}

double max_rss_mb(int who) {
  rusage ru{};
  getrusage(who, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"skintriage_bench: skintriage's side of the PyTorch comparison (bench/run.sh)"};
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string archs = "mobilenet_v2,resnet18,resnet50,inception_v3", out, epoch_release, epoch_arch = "mobilenet_v2";
  std::string work_dir = std::filesystem::temp_directory_path().string();
  int64_t gemm_n = 2048;
  int epoch_batch = 16, epoch_workers = 2, epoch_count = 2;
  bool skip_compute = false, no_mkldnn = false, keep_blas = false, system_malloc = false, flush_denormal = false;
  Iterations it;
  app.add_option("--threads", threads, "LibTorch threads (default: the core count)");
  app.add_option("--archs", archs, "comma-separated architectures");
  app.add_option("--repeats", it.repeats, "timed repeats (the median is kept)");
  app.add_option("--b1-iters", it.b1_iters, "batch-1 calls per timed repeat");
  app.add_option("--gemm-n", gemm_n, "side of the GEMM used for the peak");
  app.add_option("--epoch", epoch_release, "derm7pt-format release: also time training epochs");
  app.add_option("--epoch-arch", epoch_arch, "backbone of the epoch benchmark");
  app.add_option("--epoch-batch", epoch_batch, "batch size of the epoch benchmark");
  app.add_option("--epoch-workers", epoch_workers, "image worker threads of the epoch benchmark");
  app.add_option("--epochs", epoch_count, "epochs to run (the first decodes from disk, later ones hit the cache)");
  app.add_option("--work-dir", work_dir, "where the epoch benchmark's run folder goes (removed afterwards)");
  app.add_flag("--skip-compute", skip_compute, "only the epoch benchmark");
  app.add_flag("--op-profile", it.op_profile, "investigation: print per-op times of batch-1 and batch-32 inference");
  app.add_flag("--flush-denormal", flush_denormal, "investigation: flush denormal floats to zero");
  app.add_flag("--no-mkldnn", no_mkldnn, "investigation: disable oneDNN for convolutions");
  app.add_flag("--system-malloc", system_malloc, "investigation: skip tune_allocator() (glibc's mmap per large block)");
  app.add_flag("--keep-blas", keep_blas, "investigation: skip tune_blas() (keep OpenBLAS's own kernel choice)");
  app.add_option("--out", out, "write the JSON here (default: stdout)");
  CLI11_PARSE(app, argc, argv);

  // What the skintriage CLI does first: an allocator that keeps freed blocks, BLAS kernels that fit the CPU,
  // then the thread count.
  const std::string allocator = system_malloc ? "glibc malloc defaults (--system-malloc)" : skintriage::tune_allocator();
  const std::string blas = keep_blas ? "OpenBLAS core " + skintriage::blas_core_name() + " (kept)"
                                     : skintriage::tune_blas();
  try {
    torch::set_num_threads(threads);
    if (no_mkldnn) at::globalContext().setUserEnabledMkldnn(false);
    if (flush_denormal) at::globalContext().setFlushDenormal(true);
    Json res;
    res["side"] = "skintriage";
    res["libtorch"] = TORCH_VERSION;
    res["threads"] = torch::get_num_threads();
    res["blas"] = blas;
    res["allocator"] = allocator;
    res["mkldnn_enabled"] = at::globalContext().userEnabledMkldnn();
    res["archs"] = Json::object();
    if (!skip_compute) {
      res["gemm"] = gemm_peak(gemm_n, 5);
      res["gemm_gflops"] = res["gemm"]["peak_gflops"];
      char line[160];
      std::snprintf(line, sizeof line, "  GEMM %lld^3: torch::mm %.1f, 1x1 conv %.1f GFLOP/s",
                    static_cast<long long>(gemm_n), res["gemm"]["mm_gflops"].get<double>(),
                    res["gemm"]["conv1x1_gflops"].get<double>());
      log(line);
      for (const auto& arch : skintriage::split(archs, ',')) res["archs"][arch] = bench_arch(arch, it);
      res["gemm_after"] = gemm_peak(gemm_n, 5);
    }
    if (!epoch_release.empty())
      res["epoch"] = bench_epochs(epoch_release, epoch_arch, epoch_batch, epoch_workers, epoch_count, threads,
                                  work_dir);
    res["peak_rss_mb"] = max_rss_mb(RUSAGE_SELF);
    const std::string text = res.dump(1) + "\n";
    if (out.empty())
      std::cout << text;
    else
      skintriage::write_file_atomic(out, text);
  } catch (const std::exception& e) {
    return skintriage::report_error(e);
  }
  return 0;
}
