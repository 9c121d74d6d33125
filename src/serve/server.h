// The prediction service: an HTTP API and a clinician's web page over one shared Predictor.
//
// Routes (docs/serve.md has examples):
//   POST /api/v1/predict  multipart/form-data (files `clinic`, `derm`; fields `sex`, `location`,
//                         `elevation`, `heatmaps`, `tta`, `explain_head`, `explain_class`) or
//                         application/json (the same keys, images as base64 or data URLs)
//                         -> the JSON of `skintriage predict --json`; heatmaps as PNG data URLs on request
//   GET  /api/v1/model    model card (architecture, inputs, heads, vocabularies, run metrics)
//   GET  /healthz         liveness
//   GET  /                the web page (embedded, self-contained)
//
// Robustness: request bodies are capped (413), images are sniffed (PNG/JPEG/BMP only, 415 otherwise)
// and their dimensions read from the header before decoding (413 beyond the limit), malformed requests
// get a 4xx JSON error `{"error": {"status": s, "message": "..."}}` naming the problem. Inference runs
// under an admission gate: at most `workers` predictions run at once and at most `queue` wait; any
// request beyond that gets 503 at once instead of piling up; a prediction running beside others gets its
// share of the intra-op threads (serve/thread_share.h), and the listening socket queues bursts of new
// connections (serve/listen_backlog.h). An optional bearer token guards every
// /api/ route. Images and metadata live only in memory; the access log holds method, path, status and
// duration, never request content.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace skintriage {

class Predictor;

/// Accept backlog of the listening socket (the HTTP library's own is 5; serve/listen_backlog.h).
constexpr int kListenBacklog = 128;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                               ///< 0 = any free port (see Server::port())
  int workers = 2;                               ///< predictions running at once
  int queue = 8;                                 ///< predictions allowed to wait for a worker
  int http_threads = 16;                         ///< connection threads (cheap requests, 503 replies)
  size_t max_body_bytes = 24u << 20;             ///< whole request body
  int max_image_side = 8192;                     ///< either dimension, read from the image header
  long max_image_pixels = 40'000'000;            ///< width x height
  int max_tta = 8;
  std::string token;                             ///< "" = no authentication
  bool access_log = true;                        ///< one line per request on stderr (no content)
  int read_timeout_s = 20;
};

/// Counts requests in the system and lets at most `workers` run; beyond workers + queue it refuses.
class AdmissionGate {
 public:
  AdmissionGate(int workers, int queue);
  /// A granted slot; waits for a free worker in its constructor, frees it in its destructor.
  class Ticket {
   public:
    explicit Ticket(AdmissionGate& gate);
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    AdmissionGate& gate_;
  };
  /// Reserves a place (running or waiting); false when workers + queue are all taken.
  bool try_enter();
  /// Releases a place taken by try_enter without running (used when a Ticket is not created).
  void leave();
  int in_system() const;
  int capacity() const { return workers_ + queue_; }

 private:
  struct State;
  std::shared_ptr<State> state_;
  int workers_, queue_;
};

/// What an image's header says, read without decoding it.
struct ImageHeader {
  std::string format;  ///< "png", "jpeg", "bmp"; "" when not one of these
  int width = 0, height = 0;
};
/// Sniffs PNG / JPEG / BMP bytes and reads their dimensions; format "" when unknown or truncated.
ImageHeader sniff_image(const std::string& bytes);

class Server {
 public:
  Server(std::shared_ptr<const Predictor> predictor, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds the socket (InputError when it cannot); returns the bound port.
  int bind();
  /// Serves until stop(); bind() first.
  void serve_forever();
  /// bind() + serve_forever() on a background thread; returns the port once listening.
  int start_background();
  void stop();
  int port() const;
  /// The admission gate (tests occupy it to check the 503 path).
  AdmissionGate& gate();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The embedded single-page web app served at "/".
const std::string& web_page_html();

}  // namespace skintriage
