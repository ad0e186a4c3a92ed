#include "embedded_dashboard.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

std::string source_file(const std::string& name) {
  std::ifstream in(std::filesystem::path(PROGRESS_WEB_DIR) / name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

http_request get(const std::string& target) {
  return http_request{http::verb::get, target, 11};
}

TEST(EmbeddedDashboard, HoldsTheBrowserFilesOfWebByteForByte) {
  const auto files = embedded_dashboard();
  // Every page, style and module of web/: the client's modules import each other.
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(PROGRESS_WEB_DIR)) {
    const auto extension = entry.path().extension();
    if (extension == ".html" || extension == ".css" || extension == ".js")
      names.push_back(entry.path().filename().string());
  }
  for (const char* name :
       {"index.html", "dashboard.js", "dashboard.css", "progress-client.js", "websocket-transport.js",
        "sse-transport.js", "polling-transport.js", "job-rules.js"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name << " is not in web/";
  for (const auto& name : names) {
    const auto found = std::find_if(files.begin(), files.end(),
                                    [&](const embedded_file& f) { return f.path == "/" + name; });
    ASSERT_NE(found, files.end()) << name;
    EXPECT_EQ(found->bytes, source_file(name)) << name;
  }
  // The npm package's metadata and types are not the dashboard's.
  for (const auto& file : files) {
    EXPECT_FALSE(file.path.ends_with(".json") || file.path.ends_with(".md") || file.path.ends_with(".ts"))
        << file.path;
  }
}

TEST(EmbeddedDashboard, ServesIndexAndTheClientWithTheirTypes) {
  const static_files served{embedded_dashboard()};
  const auto index = served.serve(get("/"), "/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->result(), http::status::ok);
  EXPECT_EQ((*index)[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_TRUE((*index)["Content-Security-Policy"].starts_with("default-src 'self'"));
  EXPECT_EQ(index->body(), source_file("index.html"));

  for (const char* script : {"/progress-client.js", "/dashboard.js"}) {
    const auto js = served.serve(get(script), script);
    ASSERT_TRUE(js) << script;
    EXPECT_EQ((*js)[http::field::content_type], "text/javascript; charset=utf-8") << script;
  }
  const auto css = served.serve(get("/dashboard.css"), "/dashboard.css");
  ASSERT_TRUE(css);
  EXPECT_EQ((*css)[http::field::content_type], "text/css; charset=utf-8");
}

TEST(EmbeddedDashboard, AnswersARevalidationWithNotModified) {
  const static_files served{embedded_dashboard()};
  const auto first = served.serve(get("/index.html"), "/index.html");
  ASSERT_TRUE(first);
  auto again = get("/index.html");
  again.set(http::field::if_none_match, (*first)[http::field::etag]);
  const auto second = served.serve(again, "/index.html");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->result(), http::status::not_modified);
  EXPECT_TRUE(second->body().empty());
}

TEST(EmbeddedDashboard, KeepsTheLimitsOfADirectory) {
  const std::string big(static_files::max_total_bytes / 2 + 1, 'x');
  const embedded_file too_big[] = {{"/a.js", big}, {"/b.js", big}};
  EXPECT_THROW(static_files{too_big}, std::runtime_error);
}

}  // namespace
}  // namespace progress::bridge
