#pragma once
// A real nginx (Debian's nginx-light) as the reverse proxy in front of a
// bridge, on a free loopback port, with its own configuration, prefix and
// logs in a temporary directory: no root, nothing outside that directory.
// It proxies with the settings the documentation ships (docs/nginx-proxy.conf).

#include <filesystem>
#include <memory>
#include <string>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace progress::test {

class nginx_proxy {
 public:
  // Starts nginx in front of 127.0.0.1:upstream_port and waits until it
  // accepts connections; throws std::runtime_error when it does not.
  explicit nginx_proxy(unsigned short upstream_port);
  ~nginx_proxy();

  nginx_proxy(const nginx_proxy&) = delete;
  nginx_proxy& operator=(const nginx_proxy&) = delete;

  [[nodiscard]] unsigned short port() const noexcept { return port_; }
  // nginx's own output and error log.
  [[nodiscard]] std::string log() const;

 private:
  temp_dir directory_;
  unsigned short port_ = 0;
  std::unique_ptr<child_process> process_;
};

}  // namespace progress::test
