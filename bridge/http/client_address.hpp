#pragma once
// Who a request comes from: the TCP peer, or, when the peer is a trusted
// proxy (--trusted-proxy), the client that proxy names in its forwarding
// header. The client address keys the request rate limit, the per-address
// connection cap and the logs, so it is decided here and nowhere else.
//
// The forwarding header is read from the right: each proxy appends the
// address it received the request from, so the first address from the right
// that is not a trusted proxy is the client, and anything left of it was
// written by the client and is ignored. A peer that is not trusted is the
// client, whatever headers it sends. Only the configured header is read: a
// proxy that writes X-Forwarded-For passes a client's own `Forwarded` header
// through unchanged.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_types.hpp"

namespace progress::bridge {

enum class forwarded_header { x_forwarded_for, forwarded };

// An address range: "10.0.0.0/8", "fd00::/8", or one address ("10.0.0.5").
struct address_range {
  net::ip::address network;
  unsigned prefix = 0;

  [[nodiscard]] static std::optional<address_range> parse(std::string_view text);
  [[nodiscard]] bool contains(const net::ip::address& address) const;
};

class trusted_proxies {
 public:
  // Addresses read from one request's forwarding header, at most.
  static constexpr std::size_t max_hops = 32;

  // Trusts nobody: every peer is the client.
  trusted_proxies() = default;
  trusted_proxies(std::vector<address_range> ranges, forwarded_header header);

  [[nodiscard]] bool trusts(const net::ip::address& peer) const;
  [[nodiscard]] bool empty() const noexcept { return ranges_.empty(); }

  // The client of `req`, which arrived from `peer`.
  [[nodiscard]] net::ip::address client_of(const net::ip::address& peer, const http_request& req) const;

 private:
  std::vector<address_range> ranges_;
  forwarded_header header_ = forwarded_header::x_forwarded_for;
};

// An IPv4-mapped IPv6 address as the IPv4 address it is; others unchanged.
[[nodiscard]] net::ip::address plain_address(const net::ip::address& address);

// What per-client limits count a client under: an IPv4 address, or the /64
// network of an IPv6 address (one host commonly holds a whole /64).
[[nodiscard]] std::string client_key(const net::ip::address& address);

// One address of a forwarding header: "192.0.2.7", "192.0.2.7:4711",
// "2001:db8::1", "[2001:db8::1]:4711", quoted or not; nothing for "unknown",
// obfuscated names and anything else.
[[nodiscard]] std::optional<net::ip::address> parse_forwarded_address(std::string_view text);

}  // namespace progress::bridge
