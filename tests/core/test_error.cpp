// The exit codes and message every command-line entry point gives an exception.
#include <gtest/gtest.h>

#include <stdexcept>

#include "core/error.h"

using namespace skintriage;

TEST(ReportError, BadInputIsTwoAnythingElseIsOneAndTheMessageGoesToStderr) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(report_error(InputError("meta.csv:3: column 'sex': unknown value 'x'")), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "error: meta.csv:3: column 'sex': unknown value 'x'\n");
  testing::internal::CaptureStderr();
  EXPECT_EQ(report_error(InputErrors({"a: missing", "b: missing"})), 2);  // a subclass counts as bad input
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "error: 2 errors\n  a: missing\n  b: missing\n");
  testing::internal::CaptureStderr();
  EXPECT_EQ(report_error(std::runtime_error("out of memory")), 1);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "error: out of memory\n");
}
