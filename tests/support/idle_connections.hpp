#pragma once
// Clients that take a server's connection slots and never say a word, and
// clients that knock and leave at once: what a connection flood does.

#include <cstddef>
#include <string>
#include <vector>

namespace progress::test {

class idle_connections {
 public:
  // Opens `count` TCP connections from `source` (any of 127.0.0.0/8) to
  // 127.0.0.1:port and holds them, sending nothing. Throws std::runtime_error
  // when a connection cannot be made (the kernel completes them even while the
  // server does not accept).
  idle_connections(unsigned short port, std::size_t count, const std::string& source = "127.0.0.1");
  ~idle_connections();

  idle_connections(const idle_connections&) = delete;
  idle_connections& operator=(const idle_connections&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return fds_.size(); }
  // How many of them the server has closed (end of stream or reset) by now.
  [[nodiscard]] std::size_t closed_by_server() const;
  // Closes them all: the clients leave.
  void close();

 private:
  std::vector<int> fds_;
};

// Connects `count` times from `source` to 127.0.0.1:port, closing each
// connection at once; returns how many connects succeeded.
std::size_t connect_and_leave(unsigned short port, std::size_t count, const std::string& source);

}  // namespace progress::test
