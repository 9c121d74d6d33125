// The HTTP API over loopback: every route, every error, auth, the 503 path, a load test and
// bounded fuzzing of the request handling.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "core/files.h"
#include "data/image.h"
#include "serve/listen_backlog.h"
#include "serve/predictor.h"
#include "serve/server.h"
#include "serve_fixtures.h"

using namespace skintriage;
using servetest::lesion_image;

namespace {

std::string b64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(t[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(t[((val << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

struct Fixture {
  std::shared_ptr<const Predictor> predictor;
  std::unique_ptr<Server> server;
  int port = 0;
  std::string clinic_png, derm_jpg;

  explicit Fixture(ServerOptions o = {}, const std::string& inputs = "CDM") {
    predictor = std::make_shared<const Predictor>(servetest::make_model_dir(inputs));
    o.port = 0;
    o.access_log = false;
    server = std::make_unique<Server>(predictor, o);
    port = server->start_background();
    clinic_png = encode_png_rgb(lesion_image(224, 224, 100, 120, 40, 1));
    derm_jpg = encode_jpeg_rgb(lesion_image(256, 256, 130, 110, 60, 2));
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }
  httplib::MultipartFormDataItems case_items(bool heatmaps = false) const {
    httplib::MultipartFormDataItems items = {{"clinic", clinic_png, "clinic.png", "image/png"},
                                             {"derm", derm_jpg, "derm.jpg", "image/jpeg"},
                                             {"sex", "male", "", ""},
                                             {"location", "back", "", ""},
                                             {"elevation", "palpable", "", ""}};
    if (heatmaps) items.push_back({"heatmaps", "1", "", ""});
    return items;
  }
};

nlohmann::json body_json(const httplib::Result& r) {
  if (!r) return nullptr;
  try {
    return nlohmann::json::parse(r->body);
  } catch (...) {
    return nullptr;
  }
}

// Expects an error response with the JSON shape and a message containing `needle`.
void expect_error(const httplib::Result& r, int status, const std::string& needle) {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  auto j = body_json(r);
  ASSERT_TRUE(j.is_object()) << r->body;
  ASSERT_TRUE(j.contains("error")) << r->body;
  EXPECT_EQ(j["error"]["status"], status);
  EXPECT_NE(j["error"]["message"].get<std::string>().find(needle), std::string::npos)
      << "message: " << j["error"]["message"] << " lacks '" << needle << "'";
}

}  // namespace

TEST(Server, HealthPageAndModelCard) {
  Fixture f;
  auto c = f.client();
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(body_json(h)["status"], "ok");
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page->body.find("id=\"submit\""), std::string::npos);
  // Self-contained: no external scripts, styles or images.
  EXPECT_EQ(page->body.find("src=\"http"), std::string::npos);
  EXPECT_EQ(page->body.find("href=\"http"), std::string::npos);
  auto m = c.Get("/api/v1/model");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  auto card = body_json(m);
  EXPECT_EQ(card["architecture"], "mobilenet_v2");
  EXPECT_EQ(card["inputs"]["set"], "CDM");
  EXPECT_EQ(card["heads"].size(), 9u);
  EXPECT_EQ(card["vocabularies"]["sex"], nlohmann::json({"female", "male"}));
  EXPECT_EQ(card["server"]["workers"], 2);
}

TEST(Server, MultipartPredictEqualsThePredictor) {
  Fixture f;
  auto c = f.client();
  auto r = c.Post("/api/v1/predict", f.case_items());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = body_json(r);
  CaseInput in;
  in.clinic = decode_image_rgb(f.clinic_png, "c");
  in.derm = decode_image_rgb(f.derm_jpg, "d");
  in.sex = "male";
  in.location = "back";
  in.elevation = "palpable";
  auto ref = f.predictor->predict(in).json;
  j.erase("latency_ms");
  ref.erase("latency_ms");
  EXPECT_EQ(j["management"]["decision"], ref["management"]["decision"]);
  for (auto it = ref["heads"].begin(); it != ref["heads"].end(); ++it)
    for (auto p = it.value()["probabilities"].begin(); p != it.value()["probabilities"].end(); ++p)
      EXPECT_NEAR(j["heads"][it.key()]["probabilities"][p.key()].get<double>(), p.value().get<double>(), 1e-9);
  EXPECT_EQ(j["inputs"], ref["inputs"]);
  EXPECT_FALSE(j.contains("heatmaps"));

  // With heatmaps: PNG data URLs that decode to the network's view.
  auto h = c.Post("/api/v1/predict", f.case_items(true));
  ASSERT_TRUE(h);
  ASSERT_EQ(h->status, 200) << h->body;
  auto hj = body_json(h);
  ASSERT_EQ(hj["heatmaps"].size(), 2u);
  std::string url = hj["heatmaps"][0]["overlay_png"];
  const std::string prefix = "data:image/png;base64,";
  ASSERT_EQ(url.rfind(prefix, 0), 0u);
  ASSERT_EQ(hj["heatmaps"][0]["grid"].size(), 49u);
}

TEST(Server, JsonBodyWithBase64Images) {
  Fixture f;
  auto c = f.client();
  nlohmann::json body = {{"clinic", "data:image/png;base64," + b64(f.clinic_png)},
                         {"derm", b64(f.derm_jpg)},
                         {"sex", "female"},
                         {"heatmaps", true},
                         {"tta", 2}};
  auto r = c.Post("/api/v1/predict", body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = body_json(r);
  EXPECT_EQ(j["uncertainty"]["views"], 2);
  EXPECT_EQ(j["heatmaps"].size(), 2u);
  EXPECT_FALSE(j["warnings"].empty());  // partial metadata is flagged
}

TEST(Server, MalformedRequestsGetNamedErrors) {
  ServerOptions o;
  o.max_body_bytes = 1 << 20;
  o.max_image_side = 2000;
  Fixture f(o);
  auto c = f.client();
  expect_error(c.Post("/api/v1/predict", "hello", "text/plain"), 415, "Content-Type");
  expect_error(c.Post("/api/v1/predict", "{not json", "application/json"), 400, "not valid JSON");
  expect_error(c.Post("/api/v1/predict", "[1,2]", "application/json"), 400, "JSON object");
  expect_error(c.Post("/api/v1/predict", R"({"derm": "@@@"})", "application/json"), 400, "base64");
  expect_error(c.Post("/api/v1/predict", R"({"derm": 5})", "application/json"), 400, "derm");
  expect_error(c.Post("/api/v1/predict", R"({"derm": "data:image/png,abc"})", "application/json"), 400,
               "data URL");
  expect_error(c.Post("/api/v1/predict", nlohmann::json{{"derm", b64("not an image at all")}}.dump(),
                      "application/json"),
               415, "not a PNG, JPEG or BMP");
  // A PNG header that claims 100000 x 100000 pixels is refused before decoding.
  std::string huge = std::string("\x89PNG\r\n\x1a\n", 8) + std::string("\0\0\0\x0dIHDR", 8) +
                     std::string("\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00", 13) + std::string(64, '\0');
  expect_error(c.Post("/api/v1/predict", httplib::MultipartFormDataItems{{"derm", huge, "x.png", "image/png"}}),
               413, "100000x100000");
  // A truncated image with a valid header: decoding fails, named.
  std::string cut = f.clinic_png.substr(0, 100);
  expect_error(c.Post("/api/v1/predict", httplib::MultipartFormDataItems{{"derm", cut, "x.png", "image/png"}}), 400,
               "derm");
  expect_error(c.Post("/api/v1/predict",
                      httplib::MultipartFormDataItems{{"derm", f.derm_jpg, "x.txt", "text/plain"}}),
               415, "not an image");
  expect_error(c.Post("/api/v1/predict", httplib::MultipartFormDataItems{{"derm", f.derm_jpg, "d.jpg", "image/jpeg"},
                                                                         {"colour", "red", "", ""}}),
               400, "unknown field 'colour'");
  expect_error(c.Post("/api/v1/predict", httplib::MultipartFormDataItems{{"derm", f.derm_jpg, "d.jpg", "image/jpeg"},
                                                                         {"tta", "99", "", ""}}),
               400, "tta");
  expect_error(c.Post("/api/v1/predict", httplib::MultipartFormDataItems{{"derm", f.derm_jpg, "d.jpg", "image/jpeg"},
                                                                         {"heatmaps", "maybe", "", ""}}),
               400, "heatmaps");
  expect_error(c.Post("/api/v1/predict", httplib::MultipartFormDataItems{{"derm", f.derm_jpg, "d.jpg", "image/jpeg"},
                                                                         {"derm", f.derm_jpg, "e.jpg", "image/jpeg"}}),
               400, "twice");
  // Values outside the vocabulary and missing inputs come from the predictor: 422, named.
  httplib::MultipartFormDataItems elbow = {{"clinic", f.clinic_png, "c.png", "image/png"},
                                           {"derm", f.derm_jpg, "d.jpg", "image/jpeg"},
                                           {"sex", "male", "", ""},
                                           {"location", "elbow", "", ""},
                                           {"elevation", "flat", "", ""}};
  expect_error(c.Post("/api/v1/predict", elbow),
               422, "elbow");
  expect_error(c.Post("/api/v1/predict", httplib::MultipartFormDataItems{{"sex", "male", "", ""}}), 422,
               "no usable image");
  expect_error(c.Post("/api/v1/predict", httplib::MultipartFormDataItems{{"derm", f.derm_jpg, "d.jpg", "image/jpeg"}}),
               422, "clinic");
  // Body over the limit: 413 with the JSON shape.
  expect_error(c.Post("/api/v1/predict", std::string(2 << 20, 'a'), "application/json"), 413, "limit");
  expect_error(c.Get("/api/v1/predict"), 405, "GET");
  expect_error(c.Get("/api/v2/nothing"), 404, "/api/v2/nothing");
  // And the server is still fine.
  auto ok = c.Post("/api/v1/predict", f.case_items());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(Server, BearerTokenGuardsEveryApiRoute) {
  ServerOptions o;
  o.token = "s3cret-token";
  Fixture f(o);
  auto c = f.client();
  expect_error(c.Get("/api/v1/model"), 401, "missing bearer token");
  expect_error(c.Post("/api/v1/predict", f.case_items()), 401, "missing bearer token");
  httplib::Headers wrong = {{"Authorization", "Bearer nope"}};
  expect_error(c.Get("/api/v1/model", wrong), 401, "invalid bearer token");
  httplib::Headers right = {{"Authorization", "Bearer s3cret-token"}};
  auto m = c.Get("/api/v1/model", right);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  auto p = c.Post("/api/v1/predict", right, f.case_items());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 200);
  // Liveness and the page itself stay open (the page asks for the token).
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(c.Get("/")->status, 200);
}

TEST(Server, BeyondCapacityIs503NotAPileUp) {
  ServerOptions o;
  o.workers = 1;
  o.queue = 1;
  Fixture f(o);
  auto c = f.client();
  // Occupy every place (one running, one waiting), as two slow requests would.
  ASSERT_TRUE(f.server->gate().try_enter());
  ASSERT_TRUE(f.server->gate().try_enter());
  EXPECT_FALSE(f.server->gate().try_enter());
  auto t0 = std::chrono::steady_clock::now();
  expect_error(c.Post("/api/v1/predict", f.case_items()), 503, "capacity");
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 2000.0) << "a refused request must not wait";
  f.server->gate().leave();
  f.server->gate().leave();
  auto ok = c.Post("/api/v1/predict", f.case_items());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(f.server->gate().in_system(), 0);

  // Real concurrency: 6 simultaneous requests on 1 worker + 1 queue place -> some 200, some 503, no other status.
  std::atomic<int> n200{0}, n503{0}, other{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 6; ++i)
    ts.emplace_back([&] {
      auto cc = f.client();
      auto r = cc.Post("/api/v1/predict", f.case_items());
      if (r && r->status == 200) ++n200;
      else if (r && r->status == 503) ++n503;
      else ++other;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(n200.load(), 2);
  EXPECT_EQ(n200 + n503, 6);
  EXPECT_EQ(f.server->gate().in_system(), 0);
}

TEST(Server, LoadTestConcurrentClients) {
  ServerOptions o;
  o.workers = 2;
  o.queue = 16;
  Fixture f(o);
  const int clients = 8, per_client = 6;
  std::vector<std::vector<double>> lat(clients);
  std::atomic<int> errors{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int k = 0; k < clients; ++k)
    ts.emplace_back([&, k] {
      auto c = f.client();
      for (int i = 0; i < per_client; ++i) {
        auto s = std::chrono::steady_clock::now();
        auto r = c.Post("/api/v1/predict", f.case_items());
        lat[static_cast<size_t>(k)].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
        if (!r || r->status != 200) ++errors;
      }
    });
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto q = [&](double p) { return all[std::min(all.size() - 1, static_cast<size_t>(p * (all.size() - 1) + 0.5))]; };
  nlohmann::json rep = {{"clients", clients},          {"requests", all.size()}, {"errors", errors.load()},
                        {"seconds", secs},             {"throughput_rps", all.size() / secs},
                        {"p50_ms", q(0.5)},            {"p99_ms", q(0.99)},
                        {"workers", o.workers},        {"torch_threads", torch::get_num_threads()}};
  std::cout << "load test: " << rep.dump() << "\n";
  write_file_atomic("serve_load_test.json", rep.dump(2) + "\n");
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(all.size(), static_cast<size_t>(clients * per_client));
  EXPECT_LT(secs, 120.0);
}

// The HTTP library listens with a backlog of 5; more simultaneous connections than that lost SYNs and
// waited a second for TCP's retransmission (seen in the load test as a 1 s p99). The server widens it.
TEST(ListenBacklog, WidensAListeningSocketAndReportsIt) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  EXPECT_EQ(widen_listen_backlog(port, 64), 0);  // bound, not listening: nothing to change
  EXPECT_EQ(listen_backlog(port), -1);
  ASSERT_EQ(::listen(fd, 5), 0);
  EXPECT_EQ(listen_backlog(port), 5);
  EXPECT_EQ(widen_listen_backlog(port, 64), 1);
  EXPECT_EQ(listen_backlog(port), 64);
  ::close(fd);
}

TEST(Server, ListensWithAWideBacklog) {
  Fixture f;
  EXPECT_EQ(listen_backlog(f.port), kListenBacklog);
  auto c = f.client();
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Server, FuzzedRequestsNeverBreakIt) {
  ServerOptions o;
  o.max_body_bytes = 1 << 20;
  Fixture f(o);
  std::mt19937 rng(2024);
  auto c = f.client();
  const std::string boundary = "----fuzzboundary7";
  auto multipart = [&](const std::string& img) {
    return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"derm\"; filename=\"d.jpg\"\r\n" +
           "Content-Type: image/jpeg\r\n\r\n" + img + "\r\n--" + boundary +
           "\r\nContent-Disposition: form-data; name=\"sex\"\r\n\r\nmale\r\n--" + boundary + "--\r\n";
  };
  const std::string valid_mp = multipart(f.derm_jpg);
  const std::string valid_json =
      nlohmann::json{{"derm", b64(f.derm_jpg)}, {"clinic", b64(f.clinic_png)}, {"sex", "female"}}.dump();
  auto mutate = [&](std::string s) {
    std::uniform_int_distribution<int> kind(0, 4);
    int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n && !s.empty(); ++i) {
      size_t at = rng() % s.size();
      switch (kind(rng)) {
        case 0: s[at] = static_cast<char>(rng() & 0xFF); break;              // flip a byte
        case 1: s.erase(at, 1 + rng() % 64); break;                        // delete a run
        case 2: s.insert(at, std::string(1 + rng() % 16, static_cast<char>(rng() & 0xFF))); break;
        case 3: s = s.substr(0, at); break;                                // truncate
        default: s.insert(at, s.substr(rng() % s.size(), rng() % 32)); break;  // duplicate a piece
      }
    }
    return s;
  };
  const std::vector<std::string> types = {"multipart/form-data; boundary=" + boundary, "application/json", "text/plain",
                                          "multipart/form-data", "image/png", ""};
  int statuses[6] = {0};  // 2xx, 4xx, 5xx, none, other
  const int cases = 160;
  for (int i = 0; i < cases; ++i) {
    std::string body, type;
    switch (i % 4) {
      case 0: body = mutate(valid_mp); type = types[0]; break;
      case 1: body = mutate(valid_json); type = types[1]; break;
      case 2: {
        body.resize(rng() % 2048);
        for (auto& ch : body) ch = static_cast<char>(rng() & 0xFF);
        type = types[rng() % types.size()];
        break;
      }
      default: body = valid_mp; type = mutate(types[0]); break;
    }
    auto r = c.Post("/api/v1/predict", body, type.c_str());
    if (!r) ++statuses[3];
    else if (r->status >= 200 && r->status < 300) ++statuses[0];
    else if (r->status >= 400 && r->status < 500) {
      ++statuses[1];
      auto j = body_json(r);
      EXPECT_TRUE(j.is_object() && j.contains("error")) << "case " << i << ": " << r->body.substr(0, 200);
    } else if (r->status >= 500) {
      ++statuses[2];
      ADD_FAILURE() << "case " << i << ": status " << r->status << " " << r->body.substr(0, 300);
    } else ++statuses[4];
  }
  // Raw socket garbage: broken request lines and headers.
  for (int i = 0; i < 20; ++i) {
    httplib::Client raw("127.0.0.1", f.port);
    std::string junk(static_cast<size_t>(rng() % 300), 'x');
    for (auto& ch : junk) ch = static_cast<char>(32 + rng() % 95);
    httplib::Headers hs = {{"X-Junk", junk}};
    auto r = raw.Get(("/" + junk.substr(0, 40)).c_str(), hs);
    if (r) EXPECT_LT(r->status, 500) << r->body;
  }
  std::cout << "fuzz: " << cases << " cases: 2xx " << statuses[0] << ", 4xx " << statuses[1] << ", 5xx "
            << statuses[2] << ", no response " << statuses[3] << "\n";
  EXPECT_EQ(statuses[2], 0);
  EXPECT_EQ(statuses[3], 0);
  EXPECT_GT(statuses[1], cases / 2);
  auto h = f.client().Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto ok = f.client().Post("/api/v1/predict", f.case_items());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(f.server->gate().in_system(), 0);
}

TEST(Server, SniffsImageHeaders) {
  auto png = encode_png_rgb(lesion_image(33, 21, 10, 10, 5, 1));
  auto s = sniff_image(png);
  EXPECT_EQ(s.format, "png");
  EXPECT_EQ(s.width, 33);
  EXPECT_EQ(s.height, 21);
  auto jpg = encode_jpeg_rgb(lesion_image(40, 30, 10, 10, 5, 1));
  s = sniff_image(jpg);
  EXPECT_EQ(s.format, "jpeg");
  EXPECT_EQ(s.width, 40);
  EXPECT_EQ(s.height, 30);
  EXPECT_EQ(sniff_image("GIF89a....").format, "");
  EXPECT_EQ(sniff_image(jpg.substr(0, 3)).format, "");
  EXPECT_EQ(sniff_image("").format, "");
}
