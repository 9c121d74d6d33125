// The clinician's page, driven in headless Debian Chromium through chromedriver (W3C WebDriver over
// loopback): pick two synthetic images, set the metadata, submit, read the decision from the page,
// check the heatmaps render and nothing was logged to the console, and save a screenshot artifact
// (serve_page.png in the test's working folder). Skips when chromium or chromedriver is absent.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "core/files.h"
#include "data/image.h"
#include "serve/predictor.h"
#include "serve/server.h"
#include "serve_fixtures.h"

using namespace skintriage;
using servetest::lesion_image;

namespace {

const char* kChromium = "/usr/bin/chromium";
const char* kDriver = "/usr/bin/chromedriver";
const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

std::string b64decode(const std::string& in) {
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char ch : in) {
    int v;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '+') v = 62;
    else if (ch == '/') v = 63;
    else continue;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return out;
}

/// A chromedriver child process and one browser session.
class WebDriver {
 public:
  WebDriver() {
    port_ = free_port();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string p = "--port=" + std::to_string(port_);
      ::execl(kDriver, kDriver, p.c_str(), "--silent", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(120, 0);
    for (int i = 0; i < 100; ++i) {
      auto r = client_->Get("/status");
      if (r && r->status == 200) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    nlohmann::json caps = {
        {"capabilities",
         {{"alwaysMatch",
           {{"browserName", "chrome"},
            {"goog:loggingPrefs", {{"browser", "ALL"}}},
            {"goog:chromeOptions",
             {{"binary", kChromium},
              {"args",
               {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1100"}}}}}}}}};
    auto r = call("POST", "/session", caps);
    session_ = r["value"]["sessionId"].get<std::string>();
  }
  ~WebDriver() {
    if (!session_.empty()) client_->Delete(("/session/" + session_).c_str());
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr) {
    httplib::Result r = method == "GET" ? client_->Get(path.c_str())
                                        : client_->Post(path.c_str(), body.is_null() ? "{}" : body.dump(),
                                                        "application/json");
    if (!r) throw std::runtime_error("webdriver: no response to " + method + " " + path);
    auto j = nlohmann::json::parse(r->body);
    if (r->status != 200) throw std::runtime_error("webdriver " + path + ": " + r->body.substr(0, 500));
    return j;
  }
  nlohmann::json s(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr) {
    return call(method, "/session/" + session_ + path, body);
  }
  std::string find(const std::string& css) {
    return s("POST", "/element", {{"using", "css selector"}, {"value", css}})["value"][kElementKey];
  }
  nlohmann::json script(const std::string& js) {
    return s("POST", "/execute/sync", {{"script", js}, {"args", nlohmann::json::array()}})["value"];
  }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
  std::unique_ptr<httplib::Client> client_;
  std::string session_;
};

}  // namespace

TEST(WebPage, UploadSubmitAndReadTheDecision) {
  if (!file_exists(kChromium) || !file_exists(kDriver)) GTEST_SKIP() << "chromium / chromedriver not installed";
  // The shared pretrained backbone when present (a realistic model card), random init otherwise.
  auto predictor = std::make_shared<const Predictor>(servetest::make_model_dir(
      "CDM", derm7pt_heads(), nlohmann::json::object(), 0.0, 0, testutil::shared_mobilenet_weights()));
  ServerOptions o;
  o.port = 0;
  o.access_log = false;
  Server server(predictor, o);
  int port = server.start_background();

  std::string dir = testutil::temp_dir("web");
  cv::Mat clinic = lesion_image(400, 300, 210, 160, 60, 21), derm = lesion_image(320, 320, 150, 170, 90, 22);
  write_file_atomic(join_path(dir, "clinic.png"), encode_png_rgb(clinic));
  write_file_atomic(join_path(dir, "derm.png"), encode_png_rgb(derm));

  WebDriver wd;
  wd.s("POST", "/url", {{"url", "http://127.0.0.1:" + std::to_string(port) + "/"}});
  // The model card fills the drop-downs.
  for (int i = 0; i < 100; ++i) {
    if (wd.script("return document.getElementById('location').options.length").get<int>() > 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(wd.script("return document.getElementById('location').options.length").get<int>(), 10);
  wd.s("POST", "/element/" + wd.find("#clinic-file") + "/value", {{"text", join_path(dir, "clinic.png")}});
  wd.s("POST", "/element/" + wd.find("#derm-file") + "/value", {{"text", join_path(dir, "derm.png")}});
  wd.s("POST", "/element/" + wd.find("#sex option[value='female']") + "/click");
  wd.s("POST", "/element/" + wd.find("#location option[value='lower limbs']") + "/click");
  wd.s("POST", "/element/" + wd.find("#elevation option[value='palpable']") + "/click");
  wd.s("POST", "/element/" + wd.find("#submit") + "/click");

  std::string decision;
  for (int i = 0; i < 300 && decision.empty(); ++i) {
    decision = wd.script("return document.getElementById('decision').dataset.decision || ''").get<std::string>();
    if (decision.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string error = wd.script("return document.getElementById('error').textContent").get<std::string>();
  ASSERT_FALSE(decision.empty()) << "no decision shown; page error: " << error;
  EXPECT_TRUE(error.empty()) << error;

  // The page shows what the API decides for the same case.
  CaseInput in;
  in.clinic = clinic;
  in.derm = derm;
  in.sex = "female";
  in.location = "lower limbs";
  in.elevation = "palpable";
  EXPECT_EQ(decision, predictor->predict(in).decision);
  std::string shown = wd.s("GET", "/element/" + wd.find("#decision") + "/text")["value"];
  EXPECT_EQ(shown.rfind(decision, 0), 0u) << shown;
  EXPECT_EQ(wd.script("return document.querySelectorAll('#mgmt-bars .bar').length").get<int>(), 3);
  EXPECT_EQ(wd.script("return document.querySelectorAll('#criteria tr').length").get<int>(), 7);
  // Both heatmaps decoded and rendered.
  for (int i = 0; i < 50; ++i) {
    if (wd.script("return [...document.querySelectorAll('img.heatmap')].filter(i => i.complete && "
                  "i.naturalWidth > 0).length")
            .get<int>() == 2)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(wd.script("return [...document.querySelectorAll('img.heatmap')].filter(i => i.naturalWidth > 0).length")
                .get<int>(),
            2);
  // No console errors.
  try {
    auto logs = wd.s("POST", "/se/log", {{"type", "browser"}})["value"];
    for (const auto& e : logs)
      EXPECT_NE(e.value("level", ""), "SEVERE") << e.dump();
  } catch (const std::exception& e) {
    std::cout << "browser log unavailable: " << e.what() << "\n";
  }
  std::string png = b64decode(wd.s("GET", "/screenshot")["value"].get<std::string>());
  cv::Mat shot = decode_image_rgb(png, "screenshot");
  EXPECT_GT(shot.cols, 600);
  write_file_atomic("serve_page.png", png);
  std::cout << "screenshot: serve_page.png (" << png.size() << " bytes), decision " << decision << "\n";
}
