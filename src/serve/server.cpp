#include "serve/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/strings.h"
#include "data/image.h"
#include "serve/listen_backlog.h"
#include "serve/predictor.h"
#include "serve/thread_share.h"

namespace skintriage {

// ----------------------------------------------------------------------------------- admission gate

struct AdmissionGate::State {
  std::mutex mu;
  std::condition_variable cv;
  int in_system = 0;  // running + waiting
  int running = 0;
};

AdmissionGate::AdmissionGate(int workers, int queue)
    : state_(std::make_shared<State>()), workers_(std::max(1, workers)), queue_(std::max(0, queue)) {}

bool AdmissionGate::try_enter() {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->in_system >= workers_ + queue_) return false;
  ++state_->in_system;
  return true;
}

void AdmissionGate::leave() {
  std::lock_guard<std::mutex> lock(state_->mu);
  --state_->in_system;
}

int AdmissionGate::in_system() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->in_system;
}

AdmissionGate::Ticket::Ticket(AdmissionGate& gate) : gate_(gate) {
  std::unique_lock<std::mutex> lock(gate_.state_->mu);
  gate_.state_->cv.wait(lock, [&] { return gate_.state_->running < gate_.workers_; });
  ++gate_.state_->running;
}

AdmissionGate::Ticket::~Ticket() {
  {
    std::lock_guard<std::mutex> lock(gate_.state_->mu);
    --gate_.state_->running;
    --gate_.state_->in_system;
  }
  gate_.state_->cv.notify_one();
}

// ----------------------------------------------------------------------------------- image sniffing

ImageHeader sniff_image(const std::string& b) {
  ImageHeader h;
  auto u8 = [&](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(b[i])); };
  auto be16 = [&](size_t i) { return (u8(i) << 8) | u8(i + 1); };
  auto be32 = [&](size_t i) { return (u8(i) << 24) | (u8(i + 1) << 16) | (u8(i + 2) << 8) | u8(i + 3); };
  auto le32 = [&](size_t i) { return (u8(i + 3) << 24) | (u8(i + 2) << 16) | (u8(i + 1) << 8) | u8(i); };
  if (b.size() >= 24 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0 && b.compare(12, 4, "IHDR") == 0) {
    h.format = "png";
    h.width = static_cast<int>(std::min<unsigned>(be32(16), 1u << 30));
    h.height = static_cast<int>(std::min<unsigned>(be32(20), 1u << 30));
    return h;
  }
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M') {
    h.format = "bmp";
    h.width = std::abs(static_cast<int>(le32(18)));
    h.height = std::abs(static_cast<int>(le32(22)));
    return h;
  }
  if (b.size() >= 4 && u8(0) == 0xFF && u8(1) == 0xD8) {
    // Walk the JPEG segments to the first start-of-frame marker.
    size_t i = 2;
    while (i + 4 <= b.size()) {
      if (u8(i) != 0xFF) return h;
      unsigned marker = u8(i + 1);
      if (marker == 0xFF) {
        ++i;
        continue;
      }
      if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
        i += 2;
        continue;
      }
      unsigned len = be16(i + 2);
      if (len < 2) return h;
      bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) {
        if (i + 9 > b.size()) return h;
        h.format = "jpeg";
        h.height = static_cast<int>(be16(i + 5));
        h.width = static_cast<int>(be16(i + 7));
        return h;
      }
      if (marker == 0xD9 || marker == 0xDA) return h;  // no frame header before the scan
      i += 2 + len;
    }
  }
  return h;
}

// ----------------------------------------------------------------------------------- helpers

namespace {

/// A request problem with its HTTP status.
struct HttpError : std::runtime_error {
  int status;
  HttpError(int s, const std::string& m) : std::runtime_error(m), status(s) {}
};

const char* reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

void send_json(httplib::Response& res, int status, const nlohmann::json& j) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  // Request bytes echoed in messages or ids need not be UTF-8: replace them rather than fail.
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", {{"status", status}, {"reason", reason(status)}, {"message", message}}}});
}

std::string base64_encode(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += t[(n >> 18) & 63];
    out += t[(n >> 12) & 63];
    out += t[(n >> 6) & 63];
    out += t[n & 63];
  }
  if (i + 1 == in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    out += t[(n >> 18) & 63];
    out += t[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += t[(n >> 18) & 63];
    out += t[(n >> 12) & 63];
    out += t[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

/// Strict base64 (standard or URL alphabet, padding optional, whitespace ignored); throws HttpError 400.
std::string base64_decode(const std::string& in, const std::string& field) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned buf = 0;
  int bits = 0;
  bool padding = false;
  for (char ch : in) {
    int v;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '+' || ch == '-') v = 62;
    else if (ch == '/' || ch == '_') v = 63;
    else if (ch == '=') {
      padding = true;
      continue;
    } else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    else throw HttpError(400, "field '" + field + "': not valid base64 (character '" + std::string(1, ch) + "')");
    if (padding) throw HttpError(400, "field '" + field + "': not valid base64 (data after padding)");
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  if (bits >= 6) throw HttpError(400, "field '" + field + "': not valid base64 (truncated)");
  return out;
}

bool constant_time_equal(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size() || expected.empty()) return false;
  unsigned char diff = 0;  // no early exit: the time taken does not reveal where they differ
  for (size_t i = 0; i < expected.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

bool parse_flag(const std::string& v, const std::string& field) {
  std::string s = to_lower(trim(v));
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off" || s.empty()) return false;
  throw HttpError(400, "field '" + field + "': expected 0/1 or true/false, got '" + v.substr(0, 40) + "'");
}

}  // namespace

// ----------------------------------------------------------------------------------- server

struct Server::Impl {
  std::shared_ptr<const Predictor> predictor;
  ServerOptions options;
  httplib::Server http;
  AdmissionGate gate;
  std::thread thread;
  int port = -1;
  int intra_op_total = 1;  // intra-op threads of the thread that built the server (the CLI: the core count)
  nlohmann::json card;

  Impl(std::shared_ptr<const Predictor> p, ServerOptions o)
      : predictor(std::move(p)), options(std::move(o)), gate(options.workers, options.queue) {}

  cv::Mat image_from_bytes(const std::string& bytes, const std::string& field, const std::string& content_type) {
    if (!content_type.empty()) {
      std::string ct = to_lower(content_type);
      if (!starts_with(ct, "image/") && ct != "application/octet-stream")
        throw HttpError(415, "field '" + field + "': content type '" + content_type.substr(0, 60) +
                                 "' is not an image (send PNG, JPEG or BMP)");
    }
    if (bytes.empty()) throw HttpError(400, "field '" + field + "': empty image");
    ImageHeader h = sniff_image(bytes);
    if (h.format.empty())
      throw HttpError(415, "field '" + field + "': not a PNG, JPEG or BMP image (or its header is truncated)");
    if (h.width <= 0 || h.height <= 0)
      throw HttpError(400, "field '" + field + "': image header gives no size");
    if (h.width > options.max_image_side || h.height > options.max_image_side ||
        static_cast<long>(h.width) * h.height > options.max_image_pixels)
      throw HttpError(413, "field '" + field + "': image is " + std::to_string(h.width) + "x" +
                               std::to_string(h.height) + ", more than the limit (side " +
                               std::to_string(options.max_image_side) + ", " +
                               std::to_string(options.max_image_pixels) + " pixels)");
    try {
      cv::Mat img = decode_image_rgb(bytes, "field '" + field + "'");
      if (img.cols < 8 || img.rows < 8) throw HttpError(400, "field '" + field + "': image smaller than 8x8");
      return img;
    } catch (const InputError& e) {
      throw HttpError(400, e.what());
    }
  }

  void handle_predict(const httplib::Request& req, httplib::Response& res) {
    CaseInput in;
    PredictOptions po;
    po.tta = 1;
    bool want_heatmaps = false;
    auto set_text = [&](const std::string& key, const std::string& value) {
      if (value.size() > 200) throw HttpError(400, "field '" + key + "': value too long");
      if (key == "sex") in.sex = trim(value);
      else if (key == "location") in.location = trim(value);
      else if (key == "elevation") in.elevation = trim(value);
      else if (key == "heatmaps") want_heatmaps = parse_flag(value, key);
      else if (key == "explain_head") po.explain.head = trim(value);
      else if (key == "explain_class") po.explain.cls = trim(value);
      else if (key == "tta") {
        long n = 0;
        if (!parse_int(trim(value), n) || n < 1 || n > options.max_tta)
          throw HttpError(400, "field 'tta': expected an integer from 1 to " + std::to_string(options.max_tta) +
                                   ", got '" + value.substr(0, 40) + "'");
        po.tta = static_cast<int>(n);
      } else if (key == "case" || key == "id") in.id = value;
      else throw HttpError(400, "unknown field '" + key.substr(0, 60) +
                                    "' (expected clinic, derm, sex, location, elevation, heatmaps, tta, "
                                    "explain_head, explain_class)");
    };
    // Query parameters work for the options too (?heatmaps=1&tta=4).
    for (const auto& kv : req.params) set_text(kv.first, kv.second);

    std::string ct = to_lower(req.get_header_value("Content-Type"));
    if (req.is_multipart_form_data()) {
      std::set<std::string> seen;
      for (const auto& kv : req.files) {
        const auto& part = kv.second;
        if (!seen.insert(part.name).second) throw HttpError(400, "field '" + part.name + "' given twice");
        if (part.name == "clinic" || part.name == "derm") {
          // A browser sends an empty file part when nothing was picked: that is "missing".
          if (part.content.empty() && part.filename.empty()) continue;
          cv::Mat img = image_from_bytes(part.content, part.name, part.content_type);
          (part.name == "clinic" ? in.clinic : in.derm) = img;
        } else {
          set_text(part.name, part.content);
        }
      }
    } else if (starts_with(ct, "application/json")) {
      nlohmann::json body;
      try {
        body = nlohmann::json::parse(req.body);
      } catch (const nlohmann::json::exception& e) {
        throw HttpError(400, std::string("body is not valid JSON: ") + e.what());
      }
      if (!body.is_object()) throw HttpError(400, "body must be a JSON object");
      for (auto it = body.begin(); it != body.end(); ++it) {
        const std::string& key = it.key();
        const auto& v = it.value();
        if (key == "clinic" || key == "derm") {
          if (v.is_null()) continue;
          if (!v.is_string()) throw HttpError(400, "field '" + key + "': expected a base64 string or data URL");
          std::string s = v.get<std::string>();
          std::string declared;
          if (starts_with(s, "data:")) {
            auto comma = s.find(',');
            if (comma == std::string::npos || s.substr(0, comma).find(";base64") == std::string::npos)
              throw HttpError(400, "field '" + key + "': data URL must be base64 (data:image/png;base64,...)");
            declared = s.substr(5, s.find(';') - 5);
            s = s.substr(comma + 1);
          }
          if (s.empty()) continue;
          (key == "clinic" ? in.clinic : in.derm) = image_from_bytes(base64_decode(s, key), key, declared);
        } else if (v.is_string()) {
          set_text(key, v.get<std::string>());
        } else if (v.is_boolean()) {
          set_text(key, v.get<bool>() ? "1" : "0");
        } else if (v.is_number_integer()) {
          set_text(key, std::to_string(v.get<long long>()));
        } else if (v.is_null()) {
          continue;
        } else {
          throw HttpError(400, "field '" + key.substr(0, 60) + "': expected a string, number or boolean");
        }
      }
    } else {
      throw HttpError(415, "Content-Type must be multipart/form-data or application/json, got '" +
                               req.get_header_value("Content-Type").substr(0, 60) + "'");
    }
    po.heatmaps = want_heatmaps;

    if (!gate.try_enter())
      throw HttpError(503, "server at capacity (" + std::to_string(gate.capacity()) +
                               " predictions running or waiting); retry shortly");
    Prediction pred;
    {
      AdmissionGate::Ticket ticket(gate);
      // Alone, a prediction uses every intra-op thread; with others in the system, its share of them.
      ScopedIntraOpThreads share(thread_share(intra_op_total, std::min(options.workers, gate.in_system())));
      try {
        pred = predictor->predict(in, po);
      } catch (const InputError& e) {
        throw HttpError(422, e.what());
      }
    }
    nlohmann::json out = pred.json;
    if (want_heatmaps)
      for (size_t i = 0; i < pred.heatmaps.size() && i < out["heatmaps"].size(); ++i)
        out["heatmaps"][i]["overlay_png"] = "data:image/png;base64," + base64_encode(pred.heatmaps[i].overlay_png);
    send_json(res, 200, out);
  }

  void setup() {
    intra_op_total = intra_op_threads();
    const int threads = std::max(2, options.http_threads);
    http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    http.set_payload_max_length(options.max_body_bytes);
    http.set_read_timeout(options.read_timeout_s, 0);
    http.set_write_timeout(options.read_timeout_s, 0);
    http.set_keep_alive_max_count(100);
    http.set_keep_alive_timeout(5);
    card = predictor->model_card();

    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!options.token.empty() && starts_with(req.path, "/api/")) {
        std::string auth = req.get_header_value("Authorization");
        const std::string prefix = "Bearer ";
        if (!starts_with(auth, prefix) || !constant_time_equal(auth.substr(prefix.size()), options.token)) {
          res.set_header("WWW-Authenticate", "Bearer");
          send_error(res, 401, auth.empty() ? "missing bearer token (Authorization: Bearer <token>)"
                                            : "invalid bearer token");
          return httplib::Server::HandlerResponse::Handled;
        }
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      // Statuses httplib sets itself (404, 413 for oversize bodies, 400 for unparsable requests)
      // arrive here without a body: give them the same JSON shape as ours.
      if (!res.body.empty()) return;
      std::string msg;
      switch (res.status) {
        case 404: msg = "no route " + req.method + " " + req.path.substr(0, 100); break;
        case 413: msg = "request body larger than the server's limit"; break;
        case 400: msg = "malformed request (headers, body framing or multipart encoding)"; break;
        default: msg = reason(res.status);
      }
      send_error(res, res.status, msg);
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const HttpError& e) {
        send_error(res, e.status, e.what());
      } catch (const InputError& e) {
        send_error(res, 400, e.what());
      } catch (const std::exception& e) {
        send_error(res, 500, std::string("internal error: ") + e.what());
      } catch (...) {
        send_error(res, 500, "internal error");
      }
    });
    if (options.access_log) {
      http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
        // Method, path and status only: no image, metadata or query string reaches the log.
        std::fprintf(stderr, "serve: %s %s %d\n", req.method.c_str(), req.path.c_str(), res.status);
      });
    }

    http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, {{"status", "ok"}});
    });
    http.Get("/api/v1/model", [this](const httplib::Request&, httplib::Response& res) {
      nlohmann::json c = card;
      c["server"] = {{"workers", options.workers},
                     {"queue", options.queue},
                     {"max_body_bytes", options.max_body_bytes},
                     {"max_image_side", options.max_image_side},
                     {"max_image_pixels", options.max_image_pixels},
                     {"max_tta", options.max_tta},
                     {"auth", !options.token.empty()},
                     {"version", SKINTRIAGE_VERSION}};
      send_json(res, 200, c);
    });
    http.Post("/api/v1/predict", [this](const httplib::Request& req, httplib::Response& res) {
      try {
        handle_predict(req, res);
      } catch (const HttpError& e) {
        send_error(res, e.status, e.what());
      } catch (const InputError& e) {
        send_error(res, 400, e.what());
      }
    });
    auto method_not_allowed = [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", req.path == "/api/v1/predict" ? "POST" : "GET");
      send_error(res, 405, "method " + req.method + " not allowed on " + req.path);
    };
    http.Get("/api/v1/predict", method_not_allowed);
    http.Put("/api/v1/predict", method_not_allowed);
    http.Delete("/api/v1/predict", method_not_allowed);
    http.Post("/api/v1/model", method_not_allowed);
    http.Post("/healthz", method_not_allowed);
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-store");
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                     "img-src data: blob:; connect-src 'self'");
      res.set_content(web_page_html(), "text/html; charset=utf-8");
    });
  }
};

Server::Server(std::shared_ptr<const Predictor> predictor, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(predictor), std::move(options))) {
  impl_->setup();
}

Server::~Server() { stop(); }

int Server::bind() {
  auto& m = *impl_;
  if (m.options.port == 0) {
    m.port = m.http.bind_to_any_port(m.options.host);
    if (m.port < 0) throw InputError("serve: cannot bind to " + m.options.host + " (any port)");
  } else {
    if (!m.http.bind_to_port(m.options.host, m.options.port))
      throw InputError("serve: cannot bind to " + m.options.host + ":" + std::to_string(m.options.port) +
                       " (in use, or not a local address?)");
    m.port = m.options.port;
  }
  // The library listened with a backlog of 5: let bursts of connections queue instead of losing SYNs.
  widen_listen_backlog(m.port, kListenBacklog);
  return m.port;
}

void Server::serve_forever() { impl_->http.listen_after_bind(); }

int Server::start_background() {
  int p = bind();
  impl_->thread = std::thread([this] { impl_->http.listen_after_bind(); });
  for (int i = 0; i < 500 && !impl_->http.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return p;
}

void Server::stop() {
  if (!impl_) return;
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int Server::port() const { return impl_->port; }
AdmissionGate& Server::gate() { return impl_->gate; }

}  // namespace skintriage
