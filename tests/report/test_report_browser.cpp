// Opens report.html in headless Debian Chromium: the page renders, its script runs without console
// errors, the key tables and figures are in the DOM, and a screenshot is kept in the build tree.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/files.h"
#include "report/fake_experiment.h"
#include "report/html_report.h"
#include "test_util.h"

using namespace skintriage;
namespace fs = std::filesystem;

namespace {

const char* kChromium = "/usr/bin/chromium";

struct BrowserRun {
  int rc = -1;
  std::string dom;      ///< --dump-dom output (after scripts ran)
  std::string console;  ///< CONSOLE lines and uncaught errors from the browser log
};

// Runs Chromium headless on a local file with a fresh profile; `extra` adds e.g. --screenshot.
BrowserRun open_in_chromium(const std::string& html_path, const std::string& extra) {
  std::string work = testutil::temp_dir("chromium");
  std::string dom = join_path(work, "dom.html"), log = join_path(work, "log.txt");
  // Parenthesised: run_command appends its own 2>&1, which must not undo our redirections.
  std::string cmd = std::string("(timeout 120 ") + kChromium +
                    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                    " --disable-background-networking --disable-component-update --disable-sync"
                    " --user-data-dir=" + join_path(work, "profile") +
                    " --enable-logging=stderr --v=0 " + extra + " file://" + fs::absolute(html_path).string() +
                    " > " + dom + " 2> " + log + ")";
  BrowserRun r;
  std::string out;
  r.rc = testutil::run_command(cmd, out);
  if (file_exists(dom)) r.dom = read_text_file(dom);
  if (file_exists(log)) {
    std::string text = read_text_file(log);
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(start, end - start);
      if (line.find("CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos)
        r.console += line + "\n";
      start = end + 1;
    }
  }
  return r;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(ReportBrowser, ConsoleErrorDetectionWorks) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << "no " << kChromium;
  // A page with a deliberate error proves the console capture sees what the real test must not.
  std::string dir = testutil::temp_dir("broken");
  std::string page = join_path(dir, "broken.html");
  write_file_atomic(page, "<!DOCTYPE html><html><body><p id=\"p\">x</p><script>notDefined();</script></body></html>");
  BrowserRun r = open_in_chromium(page, "--dump-dom");
  ASSERT_EQ(r.rc, 0);
  EXPECT_NE(r.dom.find("id=\"p\""), std::string::npos);
  EXPECT_NE(r.console.find("Uncaught ReferenceError"), std::string::npos) << r.console;
}

TEST(ReportBrowser, RendersWithoutConsoleErrorsAndKeepsAScreenshot) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << "no " << kChromium;
  std::string dir = testutil::temp_dir("browser");
  testutil::write_fake_experiment(dir);
  std::string html = report::write_report(dir);

  BrowserRun r = open_in_chromium(html, "--dump-dom");
  ASSERT_EQ(r.rc, 0) << r.console;
  EXPECT_TRUE(r.console.empty()) << r.console;
  // The inline script ran: it marks the body and fills the table of contents with one link per section.
  EXPECT_NE(r.dom.find("data-ready=\"1\""), std::string::npos);
  size_t sections = count(r.dom, "<section id=");
  EXPECT_GE(sections, 10u);
  EXPECT_EQ(count(r.dom, "class=\"toc-link\""), sections);
  for (const char* id : {"table2", "table3", "table-ablation", "table-cv", "table-paired", "table-paper", "roc-EXC",
                         "confusion-MGMT_multi-normalised", "reliability-MGMT_pred", "curve-loss-MGMT_infr"})
    EXPECT_NE(r.dom.find(std::string("id=\"") + id + "\""), std::string::npos) << id;

  // Screenshot kept as a test artifact in the build tree (the test's working directory).
  std::string shot = fs::absolute("report_screenshot.png").string();
  fs::remove(shot);
  BrowserRun s = open_in_chromium(html, "--screenshot=" + shot + " --window-size=1280,2400 --hide-scrollbars");
  ASSERT_EQ(s.rc, 0) << s.console;
  ASSERT_TRUE(fs::exists(shot));
  EXPECT_GT(fs::file_size(shot), 20000u);  // a rendered page, not a blank one
  EXPECT_TRUE(s.console.empty()) << s.console;
}
