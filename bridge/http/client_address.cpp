#include "client_address.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "parse_integer.hpp"

namespace progress::bridge {

namespace {

constexpr unsigned ipv6_client_prefix = 64;

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

// The first `prefix` bits of two byte strings of the same length agree.
template <std::size_t N>
bool same_prefix(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                 unsigned prefix) {
  const std::size_t whole = prefix / 8;
  if (!std::equal(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(whole), b.begin())) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

// Splits a header value at commas.
template <typename Each>
void for_each_item(std::string_view value, Each each) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    each(trim(value.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// The value of the `for` parameter of one Forwarded element (RFC 7239), or empty.
std::string_view forwarded_for(std::string_view element) {
  while (!element.empty()) {
    const auto semicolon = element.find(';');
    const auto pair = trim(element.substr(0, semicolon));
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && iequals(trim(pair.substr(0, equals)), "for")) {
      return trim(pair.substr(equals + 1));
    }
    if (semicolon == std::string_view::npos) break;
    element.remove_prefix(semicolon + 1);
  }
  return {};
}

}  // namespace

std::optional<address_range> address_range::parse(std::string_view text) {
  const auto slash = text.find('/');
  boost::system::error_code ec;
  const auto address = net::ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return std::nullopt;
  const auto plain = plain_address(address);
  const unsigned bits = plain.is_v4() ? 32 : 128;
  if (slash == std::string_view::npos) return address_range{plain, bits};
  const auto prefix = parse_integer<unsigned>(text.substr(slash + 1), 0, bits);
  if (!prefix) return std::nullopt;
  return address_range{plain, *prefix};
}

bool address_range::contains(const net::ip::address& address) const {
  const auto plain = plain_address(address);
  if (plain.is_v4() != network.is_v4()) return false;
  if (plain.is_v4()) return same_prefix(plain.to_v4().to_bytes(), network.to_v4().to_bytes(), prefix);
  return same_prefix(plain.to_v6().to_bytes(), network.to_v6().to_bytes(), prefix);
}

trusted_proxies::trusted_proxies(std::vector<address_range> ranges, forwarded_header header)
    : ranges_(std::move(ranges)), header_(header) {}

bool trusted_proxies::trusts(const net::ip::address& peer) const {
  return std::ranges::any_of(ranges_, [&](const address_range& range) { return range.contains(peer); });
}

net::ip::address trusted_proxies::client_of(const net::ip::address& peer, const http_request& req) const {
  auto client = plain_address(peer);
  if (!trusts(client)) return client;
  const bool xff = header_ == forwarded_header::x_forwarded_for;
  // Every address the proxies wrote, left to right; the last max_hops count.
  std::vector<std::string_view> hops;
  const auto [first, last] = req.equal_range(xff ? "X-Forwarded-For" : "Forwarded");
  for (auto field = first; field != last; ++field) {
    for_each_item(field->value(), [&](std::string_view item) {
      hops.push_back(xff ? item : forwarded_for(item));
      if (hops.size() > max_hops) hops.erase(hops.begin());
    });
  }
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    const auto address = parse_forwarded_address(*hop);
    // What a trusted proxy wrote is unusable: the last trusted hop is all that is known.
    if (!address) return client;
    client = *address;
    if (!trusts(client)) return client;
  }
  return client;
}

net::ip::address plain_address(const net::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::string client_key(const net::ip::address& address) {
  const auto plain = plain_address(address);
  if (plain.is_v4()) return plain.to_string();
  auto bytes = plain.to_v6().to_bytes();
  std::fill(bytes.begin() + ipv6_client_prefix / 8, bytes.end(), 0);
  return net::ip::address_v6(bytes).to_string() + "/64";
}

std::optional<net::ip::address> parse_forwarded_address(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    text = text.substr(1, close - 1);
  } else if (std::ranges::count(text, ':') == 1) {
    text = text.substr(0, text.find(':'));  // IPv4 with a port
  }
  boost::system::error_code ec;
  const auto address = net::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return plain_address(address);
}

}  // namespace progress::bridge
