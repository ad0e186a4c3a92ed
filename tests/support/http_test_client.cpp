#include "http_test_client.hpp"

#include <chrono>

namespace progress::test {

using namespace std::chrono_literals;

http_reply send_request(unsigned short port, http::verb method, const std::string& target,
                        const std::string& token, const header_list& headers, const std::string& source) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  for (const auto& [name, value] : headers) req.set(name, value);
  beast::flat_buffer buffer;
  http_reply r;
  bool answered = false;
  if (open_client_socket(stream.socket(), source)) return {};
  // Asynchronous so that the stream's deadline bounds every step.
  stream.expires_after(10s);
  stream.async_connect(
      net::ip::tcp::endpoint{net::ip::make_address("127.0.0.1"), port}, [&](beast::error_code ec) {
        if (ec) return;
        http::async_write(stream, req, [&](beast::error_code write_ec, std::size_t) {
          if (write_ec) return;
          http::async_read(stream, buffer, r.raw,
                           [&](beast::error_code read_ec, std::size_t) { answered = !read_ec; });
        });
      });
  ioc.run();
  if (!answered) return {};
  r.status = r.raw.result_int();
  r.body = r.raw.body();
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  return r;
}

}  // namespace progress::test
