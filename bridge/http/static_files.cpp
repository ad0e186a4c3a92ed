#include "static_files.hpp"

#include <fstream>
#include <functional>
#include <stdexcept>

#include <fmt/format.h>

namespace progress::bridge {

namespace fs = std::filesystem;

namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The dashboard loads nothing from elsewhere and is never framed; its own
// scripts talk to the bridge that serves it.
constexpr std::string_view page_policy =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

}  // namespace

std::string_view static_files::content_type(std::string_view path) noexcept {
  struct mapping {
    std::string_view suffix;
    std::string_view type;
  };
  static constexpr mapping types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".ts", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},
  };
  for (const auto& [suffix, type] : types) {
    if (ends_with(path, suffix)) return type;
  }
  return "application/octet-stream";
}

static_files::static_files(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw std::runtime_error("not a directory: " + root.string());
  auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
  if (ec) throw std::runtime_error("cannot read " + root.string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) throw std::runtime_error("cannot read " + root.string() + ": " + ec.message());
    const auto name = it->path().filename().string();
    if (!name.empty() && name.front() == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || it->is_symlink()) continue;
    const auto bytes = it->file_size(ec);
    if (ec) throw std::runtime_error("cannot read " + it->path().string() + ": " + ec.message());
    reserve(bytes, "under " + root.string());  // before reading: an oversized file is never loaded
    std::string body(bytes, '\0');
    std::ifstream in(it->path(), std::ios::binary);
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    if (!in || static_cast<std::uintmax_t>(in.gcount()) != bytes)
      throw std::runtime_error("cannot read " + it->path().string());
    add("/" + fs::relative(it->path(), root).generic_string(), std::move(body));
  }
}

static_files::static_files(std::span<const embedded_file> files) {
  for (const auto& embedded : files) {
    reserve(embedded.bytes.size(), "built in");
    add(std::string{embedded.path}, std::string{embedded.bytes});
  }
}

void static_files::reserve(std::size_t bytes, std::string_view where) {
  if (files_.size() >= max_files) throw std::runtime_error(fmt::format("more than {} files {}", max_files, where));
  if (bytes > max_total_bytes - total_bytes_)
    throw std::runtime_error(fmt::format("more than {} bytes {}", max_total_bytes, where));
  total_bytes_ += bytes;
}

void static_files::add(std::string url, std::string body) {
  file entry;
  entry.content_type = content_type(url);
  entry.etag = fmt::format("\"{:x}-{:x}\"", body.size(), std::hash<std::string>{}(body));
  entry.body = std::make_shared<const std::string>(std::move(body));
  files_.insert_or_assign(std::move(url), std::move(entry));
}

std::optional<http_response> static_files::serve(const http_request& req, std::string_view path) const {
  std::string key{path};
  if (key.empty() || key.back() == '/') key += "index.html";
  const auto it = files_.find(key);
  if (it == files_.end()) return std::nullopt;
  const file& f = it->second;

  http_response res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(http::field::content_type, f.content_type);
  res.set(http::field::etag, f.etag);
  // Revalidate every time: an upgraded bridge serves its own dashboard at once.
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  if (f.content_type.starts_with("text/html")) {
    res.set("Content-Security-Policy", page_policy);
    res.set("X-Frame-Options", "DENY");
  }
  if (const auto match = req.find(http::field::if_none_match);
      match != req.end() && match->value() == f.etag) {
    res.result(http::status::not_modified);
    res.prepare_payload();
    return res;
  }
  if (req.method() == http::verb::head) {
    res.content_length(f.body->size());
    return res;
  }
  res.body() = *f.body;
  res.prepare_payload();
  return res;
}

}  // namespace progress::bridge
