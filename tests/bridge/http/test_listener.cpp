#include "listener.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "listener_fixture.hpp"
#include "wait_until.hpp"

namespace progress::bridge {
namespace {

using HttpListenerTest = ListenerTest;

using namespace std::chrono_literals;

std::size_t count_of(const std::vector<std::string>& items, std::string_view value) {
  return static_cast<std::size_t>(std::ranges::count(items, value));
}

http_request get_request(const std::string& target) {
  return http_request{http::verb::get, target, 11};
}

TEST_F(HttpListenerTest, ConnectionsBeyondTheCapAreClosedAtOnce) {
  start({},
        listener_options{
            .limits = {}, .connections = {.max_connections = 2, .max_per_address = 100}, .proxies = nullptr});
  auto first = connect();
  auto second = connect();
  beast::error_code ec;
  auto req = get_request("/held");
  ASSERT_EQ(exchange(first, req, ec).result(), http::status::ok) << ec.message();
  ASSERT_EQ(exchange(second, req, ec).result(), http::status::ok) << ec.message();

  auto third = connect();
  EXPECT_TRUE(closed_by_server(third));
  EXPECT_EQ(count_of(service_->refusals(), "max_connections"), 1u);
  EXPECT_EQ(listener_->open_connections(), 2u);

  first.close();
  EXPECT_TRUE(test::wait_until([&] { return listener_->open_connections() == 1; }, 10s));
  EXPECT_EQ(get_from("127.0.0.1", "/again").result(), http::status::ok);
}

TEST_F(HttpListenerTest, OneAddressAtItsCapLeavesOthersIn) {
  start({},
        listener_options{
            .limits = {}, .connections = {.max_connections = 100, .max_per_address = 2}, .proxies = nullptr});
  auto a = connect("127.0.0.1");
  auto b = connect("127.0.0.1");
  beast::error_code ec;
  auto req = get_request("/held");
  ASSERT_EQ(exchange(a, req, ec).result(), http::status::ok);
  ASSERT_EQ(exchange(b, req, ec).result(), http::status::ok);

  auto c = connect("127.0.0.1");
  EXPECT_TRUE(closed_by_server(c));
  EXPECT_EQ(count_of(service_->refusals(), "per_address"), 1u);
  const auto other = get_from("127.0.0.2", "/other");
  EXPECT_EQ(other.result(), http::status::ok);
  EXPECT_EQ(other["X-Remote"], "127.0.0.2");
}

TEST_F(HttpListenerTest, AHandedOffConnectionCountsUntilItsSlotIsReleased) {
  start({},
        listener_options{
            .limits = {}, .connections = {.max_connections = 1, .max_per_address = 1}, .proxies = nullptr});
  EXPECT_EQ(get_from("127.0.0.1", "/handoff").body(), "taken");
  EXPECT_EQ(listener_->open_connections(), 1u) << "the stream's owner holds the slot";
  auto refused = connect();
  EXPECT_TRUE(closed_by_server(refused));
  service_->release_slots();
  EXPECT_EQ(listener_->open_connections(), 0u);
  EXPECT_EQ(get_from("127.0.0.1", "/after").result(), http::status::ok);
}

listener_options behind_proxy(std::size_t max_per_address) {
  return listener_options{.limits = {},
                          .connections = {.max_connections = 100, .max_per_address = max_per_address},
                          .proxies = std::make_shared<const trusted_proxies>(
                              std::vector<address_range>{*address_range::parse("127.0.0.1/32")},
                              forwarded_header::x_forwarded_for)};
}

TEST_F(HttpListenerTest, ATrustedProxyNamesTheClientAnUntrustedPeerDoesNot) {
  start({}, behind_proxy(10));
  const std::vector<std::pair<std::string, std::string>> forwarded = {
      {"X-Forwarded-For", "203.0.113.9, 198.51.100.7"}};
  const auto proxied = get_from("127.0.0.1", "/x", forwarded);
  EXPECT_EQ(proxied["X-Remote"], "198.51.100.7");
  EXPECT_EQ(proxied["X-Client-Key"], "198.51.100.7");
  EXPECT_EQ(get_from("127.0.0.2", "/x", forwarded)["X-Remote"], "127.0.0.2");
  EXPECT_EQ(get_from("127.0.0.1", "/x")["X-Remote"], "127.0.0.1") << "no header: the proxy itself";
}

TEST_F(HttpListenerTest, ProxiedClientsAreCountedUnderTheirOwnAddressWhileTheyUseTheConnection) {
  start({}, behind_proxy(1));
  // A stream (here the hand-off) holds its connection under its client's address.
  EXPECT_EQ(get_from("127.0.0.1", "/handoff", {{"X-Forwarded-For", "198.51.100.7"}}).body(), "taken");
  const auto again = get_from("127.0.0.1", "/again", {{"X-Forwarded-For", "198.51.100.7"}});
  EXPECT_EQ(again.result(), http::status::service_unavailable);
  EXPECT_THAT(again.body(), ::testing::HasSubstr("too_many_connections"));
  EXPECT_EQ(count_of(service_->refusals(), "per_address"), 1u);
  EXPECT_EQ(get_from("127.0.0.1", "/other", {{"X-Forwarded-For", "198.51.100.8"}}).result(),
            http::status::ok);

  // An idle keep-alive connection in the proxy's pool counts for nobody.
  auto pooled = connect("127.0.0.1");
  beast::error_code ec;
  auto req = get_request("/pooled");
  req.set("X-Forwarded-For", "198.51.100.9");
  ASSERT_EQ(exchange(pooled, req, ec).result(), http::status::ok) << ec.message();
  // (Once the server has finished writing: the client may read the answer a moment before.)
  EXPECT_TRUE(test::wait_until(
      [&] {
        return get_from("127.0.0.1", "/next", {{"X-Forwarded-For", "198.51.100.9"}}).result() ==
               http::status::ok;
      },
      5s));
}

// Runs out of file descriptors: lowers this process's open-file limit so that
// the listener can accept only a few of the connections waiting for it.
class HttpOutOfDescriptors : public ListenerTest {
 protected:
  static constexpr int clients = 80;
  static constexpr std::size_t free_descriptors = 6;

  void SetUp() override {
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original_), 0);
    previous_logger_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("capture", log_);
    logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }

  void TearDown() override {
    restore_limit();
    for (const int fd : client_fds_) ::close(fd);
    for (const int fd : fillers_) ::close(fd);
    ListenerTest::TearDown();
    spdlog::set_default_logger(previous_logger_);
  }

  static int highest_open_descriptor() {
    int highest = 0;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return -1;
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') highest = std::max(highest, std::atoi(entry->d_name));
    }
    ::closedir(dir);
    return highest;
  }

  // Leaves exactly `free_descriptors` descriptors for the listener to accept with.
  void lower_limit() {
    rlimit lowered = original_;
    // Room for the gaps below the highest descriptor (filled below) and free_descriptors more.
    lowered.rlim_cur = static_cast<rlim_t>(highest_open_descriptor()) + 1 + free_descriptors;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
    for (int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC); fd >= 0;
         fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC))
      fillers_.push_back(fd);
    ASSERT_GE(fillers_.size(), free_descriptors);
    for (std::size_t i = 0; i < free_descriptors; ++i) {
      ::close(fillers_.back());
      fillers_.pop_back();
    }
  }
  void restore_limit() { ::setrlimit(RLIMIT_NOFILE, &original_); }

  static double cpu_seconds() {
    timespec now{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
  }

  // Client sockets the server closed (EOF or reset) by now.
  [[nodiscard]] std::size_t closed_clients() const {
    std::size_t closed = 0;
    for (const int fd : client_fds_) {
      pollfd p{fd, POLLIN | POLLRDHUP, 0};
      if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLIN))) ++closed;
    }
    return closed;
  }

  [[nodiscard]] std::size_t log_lines() const { return log_->last_formatted().size(); }
  // What the listener's threads logged so far; read under the sink's lock.
  [[nodiscard]] std::string log_text() const {
    std::string text;
    for (const auto& line : log_->last_formatted()) text += line;
    return text;
  }

  rlimit original_{};
  std::shared_ptr<spdlog::logger> previous_logger_;
  // Far more lines than the test allows, so that a flood would show.
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_ =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100000);
  std::vector<int> client_fds_;
  std::vector<int> fillers_;  // take every other free descriptor while the limit is low
};

TEST_F(HttpOutOfDescriptors, TheListenerShedsWaitingConnectionsBacksOffAndRecovers) {
  start({});
  // Every client socket exists before the limit drops: only the listener runs short,
  // with descriptors for free_descriptors connections and 80 waiting.
  for (int i = 0; i < clients; ++i) client_fds_.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(std::ranges::all_of(client_fds_, [](int fd) { return fd >= 0; }));
  lower_limit();
  const double cpu_before = cpu_seconds();
  for (const int fd : client_fds_) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(endpoint_.port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  }

  // The connections the listener has no descriptor for are closed, not left waiting.
  EXPECT_TRUE(test::wait_until([&] { return closed_clients() >= clients / 2; }, 20s))
      << closed_clients() << " of " << clients << " closed\n"
      << log_text();
  std::this_thread::sleep_for(3s);  // still out of descriptors: it keeps failing to accept
  const double cpu_used = cpu_seconds() - cpu_before;
  EXPECT_LT(cpu_used, 2.0) << "the accept loop must back off, not spin";
  EXPECT_GE(count_of(service_->refusals(), "descriptors"), static_cast<std::size_t>(clients / 2));
  // 10 lines a window and one summary (a spinning loop wrote millions here).
  EXPECT_LE(log_lines(), 30u) << log_text();
  EXPECT_THAT(log_text(), ::testing::HasSubstr("Too many open files"));

  // Once the clients leave, it serves again.
  restore_limit();
  for (const int fd : client_fds_) ::close(fd);
  client_fds_.clear();
  for (const int fd : fillers_) ::close(fd);
  fillers_.clear();
  EXPECT_TRUE(test::wait_until([&] { return listener_->open_connections() == 0; }, 20s));
  EXPECT_EQ(get_from("127.0.0.1", "/again").result(), http::status::ok);
}

}  // namespace
}  // namespace progress::bridge
