#include "nginx_proxy.hpp"

#include <signal.h>

#include <fstream>
#include <stdexcept>

namespace progress::test {

namespace {

constexpr const char* nginx_binary = "/usr/sbin/nginx";

std::string configuration(const std::filesystem::path& dir, unsigned short port, unsigned short upstream) {
  const auto in = [&](const char* name) { return (dir / name).string(); };
  const auto snippet = std::filesystem::path(PROGRESS_SOURCE_DIR) / "docs" / "nginx-proxy.conf";
  return "daemon off;\n"
         "master_process off;\n"  // one process, as the user who runs the test
         "pid " +
         in("nginx.pid") +
         ";\n"
         "error_log " +
         in("error.log") +
         " info;\n"
         "events { worker_connections 1024; }\n"
         "http {\n"
         "  access_log " +
         in("access.log") +
         ";\n"
         "  client_body_temp_path " +
         in("client_body") +
         ";\n"
         "  proxy_temp_path " +
         in("proxy") +
         ";\n"
         "  fastcgi_temp_path " +
         in("fastcgi") +
         ";\n"
         "  uwsgi_temp_path " +
         in("uwsgi") +
         ";\n"
         "  scgi_temp_path " +
         in("scgi") +
         ";\n"
         "  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }\n"
         "  upstream progress_bridge { server 127.0.0.1:" +
         std::to_string(upstream) +
         "; keepalive 8; }\n"
         "  server {\n"
         "    listen 127.0.0.1:" +
         std::to_string(port) +
         ";\n"
         "    location / { include " +
         snippet.string() +
         "; }\n"
         "  }\n"
         "}\n";
}

}  // namespace

nginx_proxy::nginx_proxy(unsigned short upstream_port)
    : directory_("progress-nginx"), port_(free_loopback_port()) {
  const auto conf = directory_ / "nginx.conf";
  std::ofstream(conf) << configuration(directory_.path(), port_, upstream_port);
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{nginx_binary, "-p", directory_.path().string(), "-c", conf.string(), "-e",
                               (directory_ / "error.log").string()},
      directory_ / "nginx.out");
  if (!wait_until([&] { return port_accepts(port_) || !process_->running(); }) || !process_->running()) {
    throw std::runtime_error("nginx did not start:\n" + log());
  }
}

nginx_proxy::~nginx_proxy() {
  // SIGTERM: a fast shutdown that closes open streams too.
  process_->stop(SIGTERM, std::chrono::seconds(5));
}

std::string nginx_proxy::log() const {
  std::ifstream error_log(directory_ / "error.log");
  std::string text{std::istreambuf_iterator<char>(error_log), {}};
  return process_->log() + text;
}

}  // namespace progress::test
