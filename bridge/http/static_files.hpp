#pragma once
// The static files served at `/` (the dashboard in web/): the copy built into
// the binary, or a directory read once at start. Requests never touch the file
// system, so no path can escape the directory and a file changed on disk is
// served after a restart.
//
// Limits: at most `max_files` regular files of at most `max_total_bytes`
// together; hidden files (names starting with '.') and anything that is not a
// regular file are skipped. More is a configuration error.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http_types.hpp"

namespace progress::bridge {

// A file built into the binary: its URL path ("/index.html") and its bytes.
struct embedded_file {
  std::string_view path;
  std::string_view bytes;
};

class static_files {
 public:
  static constexpr std::size_t max_files = 512;
  static constexpr std::size_t max_total_bytes = 32 * 1024 * 1024;

  // Reads every file under `root`; throws std::runtime_error saying what is wrong.
  explicit static_files(const std::filesystem::path& root);
  // Serves `files`, under the same limits; throws std::runtime_error when they are exceeded.
  explicit static_files(std::span<const embedded_file> files);

  // The answer for a GET or HEAD of `path` ("/" is "/index.html"), a 304 when
  // If-None-Match matches; nothing when no such file exists.
  [[nodiscard]] std::optional<http_response> serve(const http_request& req, std::string_view path) const;

  [[nodiscard]] std::size_t size() const noexcept { return files_.size(); }

  // "text/javascript; charset=utf-8" and the like, by file extension.
  [[nodiscard]] static std::string_view content_type(std::string_view path) noexcept;

 private:
  struct file {
    std::shared_ptr<const std::string> body;
    std::string_view content_type;
    std::string etag;
  };
  // Counts a file of `bytes` against the limits; throws, saying `where`, when they are exceeded.
  void reserve(std::size_t bytes, std::string_view where);
  void add(std::string url, std::string body);

  std::unordered_map<std::string, file> files_;  // by URL path, "/index.html"
  std::size_t total_bytes_ = 0;
};

}  // namespace progress::bridge
