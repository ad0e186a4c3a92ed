#include "idle_connections.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace progress::test {
namespace {

sockaddr_in ipv4(const std::string& address, unsigned short port) {
  sockaddr_in result{};
  result.sin_family = AF_INET;
  result.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &result.sin_addr) != 1)
    throw std::invalid_argument("not an IPv4 address: " + address);
  return result;
}

// A connected socket from `source`, or -1.
int connect_from(const std::string& source, unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // The local port is picked at connect, for the whole address pair: many short
  // connections from one source do not run out of ports held in TIME_WAIT elsewhere.
  const int on = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
  const auto from = ipv4(source, 0);
  const auto to = ipv4("127.0.0.1", port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof(from)) != 0 ||
      ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

idle_connections::idle_connections(unsigned short port, std::size_t count, const std::string& source) {
  fds_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const int fd = connect_from(source, port);
    if (fd < 0) {
      close();
      throw std::runtime_error("idle connection " + std::to_string(i) + " from " + source + " failed");
    }
    fds_.push_back(fd);
  }
}

idle_connections::~idle_connections() {
  close();
}

std::size_t idle_connections::closed_by_server() const {
  std::size_t closed = 0;
  for (const int fd : fds_) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) != 0) ++closed;
  }
  return closed;
}

void idle_connections::close() {
  for (const int fd : fds_) ::close(fd);
  fds_.clear();
}

std::size_t connect_and_leave(unsigned short port, std::size_t count, const std::string& source) {
  std::size_t connected = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const int fd = connect_from(source, port);
    if (fd < 0) continue;
    ++connected;
    ::close(fd);
  }
  return connected;
}

}  // namespace progress::test
