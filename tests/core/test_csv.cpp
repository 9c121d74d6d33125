#include <gtest/gtest.h>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"
#include "test_util.h"

using namespace skintriage;

TEST(Csv, ParsesQuotesCrlfAndEmbeddedNewlines) {
  auto t = parse_csv("a,b,c\r\n1,\"x,y\",\"he said \"\"hi\"\"\"\r\n2,\"multi\nline\",z\n", "t.csv");
  ASSERT_EQ(t.header.size(), 3u);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.at(0, 1), "x,y");
  EXPECT_EQ(t.at(0, 2), "he said \"hi\"");
  EXPECT_EQ(t.at(1, 1), "multi\nline");
  EXPECT_EQ(t.rows[0].line, 2);
  EXPECT_EQ(t.rows[1].line, 3);
}

TEST(Csv, WrongFieldCountNamesFileAndLine) {
  try {
    parse_csv("a,b\n1,2\n3\n", "meta.csv");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("meta.csv:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected 2 fields, found 1"), std::string::npos) << e.what();
  }
}

TEST(Csv, EmptyFileAndUnterminatedQuoteAreErrors) {
  EXPECT_THROW(parse_csv("", "e.csv"), InputError);
  EXPECT_THROW(parse_csv("a\n\"open\n", "q.csv"), InputError);
}

TEST(Csv, EscapeRoundTrips) {
  std::vector<std::string> f = {"plain", "co,mma", "quo\"te", "new\nline"};
  auto t = parse_csv("h1,h2,h3,h4\n" + csv_line(f) + "\n", "r.csv");
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0].fields, f);
}

TEST(Files, AtomicWriteAndCaseInsensitiveResolve) {
  std::string dir = testutil::temp_dir("files");
  write_file_atomic(dir + "/Images/Sub/File.JPG", "abc");
  EXPECT_EQ(read_text_file(dir + "/Images/Sub/File.JPG"), "abc");
  EXPECT_EQ(resolve_case_insensitive(dir, "images/sub/file.jpg"), dir + "/Images/Sub/File.JPG");
  EXPECT_EQ(resolve_case_insensitive(dir, "images/sub/other.jpg"), "");
  EXPECT_THROW(read_text_file(dir + "/nope"), InputError);
}
