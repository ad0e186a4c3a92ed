#include "static_files.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("progress-static-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_ / "assets");
    fs::create_directories(root_ / ".git");
    write("index.html", "<html>dashboard</html>");
    write("app.js", "export const x = 1;");
    write("assets/style.css", "body{}");
    write(".env", "SECRET=1");
    write(".git/config", "[core]");
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& name, const std::string& text) { std::ofstream(root_ / name) << text; }

  static http_request get(const std::string& target) {
    http_request req{http::verb::get, target, 11};
    return req;
  }

  fs::path root_;
};

TEST_F(StaticFilesTest, ServesIndexAtRootWithTypeAndSecurityHeaders) {
  const static_files files{root_};
  EXPECT_EQ(files.size(), 3u);
  const auto res = files.serve(get("/"), "/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::ok);
  EXPECT_EQ(res->body(), "<html>dashboard</html>");
  EXPECT_EQ((*res)[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ((*res)["X-Content-Type-Options"], "nosniff");
  EXPECT_TRUE((*res)["Content-Security-Policy"].starts_with("default-src 'self'"));
  const auto js = files.serve(get("/app.js"), "/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ((*js)[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_TRUE(files.serve(get("/assets/style.css"), "/assets/style.css"));
}

TEST_F(StaticFilesTest, NeverServesHiddenFilesOrPathsOutsideTheRoot) {
  const static_files files{root_};
  for (const char* path : {"/.env", "/.git/config", "/../etc/passwd", "/assets/../app.js", "/missing.js",
                           "//app.js", "/app.js/"}) {
    EXPECT_FALSE(files.serve(get(path), path)) << path;
  }
}

TEST_F(StaticFilesTest, AnswersNotModifiedForItsEtagAndHeadWithoutBody) {
  const static_files files{root_};
  const auto first = files.serve(get("/app.js"), "/app.js");
  ASSERT_TRUE(first);
  const std::string etag{(*first)[http::field::etag]};
  ASSERT_FALSE(etag.empty());
  auto again = get("/app.js");
  again.set(http::field::if_none_match, etag);
  const auto cached = files.serve(again, "/app.js");
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->result(), http::status::not_modified);
  EXPECT_TRUE(cached->body().empty());

  http_request head{http::verb::head, "/app.js", 11};
  const auto headers = files.serve(head, "/app.js");
  ASSERT_TRUE(headers);
  EXPECT_TRUE(headers->body().empty());
  EXPECT_EQ((*headers)[http::field::content_length], "19");
}

TEST_F(StaticFilesTest, RefusesAMissingDirectory) {
  EXPECT_THROW(static_files{root_ / "nope"}, std::runtime_error);
}

TEST(StaticFilesContentType, KnowsTheDashboardsTypes) {
  EXPECT_EQ(static_files::content_type("/a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(static_files::content_type("/a.svg"), "image/svg+xml");
  EXPECT_EQ(static_files::content_type("/a.bin"), "application/octet-stream");
}

}  // namespace
}  // namespace progress::bridge
