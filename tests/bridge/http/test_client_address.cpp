#include "client_address.hpp"

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

net::ip::address ip(const char* text) {
  return net::ip::make_address(text);
}

http_request with_headers(std::initializer_list<std::pair<const char*, const char*>> headers) {
  http_request req{http::verb::get, "/", 11};
  for (const auto& [name, value] : headers) req.insert(name, value);
  return req;
}

trusted_proxies trusting(std::initializer_list<const char*> ranges,
                         forwarded_header header = forwarded_header::x_forwarded_for) {
  std::vector<address_range> parsed;
  for (const auto* text : ranges) parsed.push_back(*address_range::parse(text));
  return trusted_proxies{std::move(parsed), header};
}

TEST(HttpAddressRange, ParsesRangesAndSingleAddresses) {
  const auto net10 = address_range::parse("10.0.0.0/8");
  ASSERT_TRUE(net10);
  EXPECT_TRUE(net10->contains(ip("10.200.3.4")));
  EXPECT_FALSE(net10->contains(ip("11.0.0.1")));
  EXPECT_TRUE(net10->contains(ip("::ffff:10.1.2.3"))) << "IPv4-mapped peers are IPv4";
  const auto one = address_range::parse("192.0.2.7");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->contains(ip("192.0.2.7")));
  EXPECT_FALSE(one->contains(ip("192.0.2.8")));
  const auto v6 = address_range::parse("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(ip("fd12:3456::1")));
  EXPECT_FALSE(v6->contains(ip("fe80::1")));
  EXPECT_FALSE(v6->contains(ip("10.0.0.1")));
  EXPECT_TRUE(address_range::parse("0.0.0.0/0")->contains(ip("203.0.113.1")));
  EXPECT_TRUE(address_range::parse("10.0.0.0/12")->contains(ip("10.15.255.255")));
  EXPECT_FALSE(address_range::parse("10.0.0.0/12")->contains(ip("10.16.0.0")));
}

TEST(HttpAddressRange, RefusesWhatIsNoRange) {
  for (const auto* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
                          "example.com", "10.0.0/8", "/8"}) {
    EXPECT_FALSE(address_range::parse(bad)) << bad;
  }
}

TEST(HttpTrustedProxies, AnUntrustedPeerIsTheClientWhateverItSends) {
  const auto proxies = trusting({"10.0.0.0/8"});
  const auto req = with_headers({{"X-Forwarded-For", "198.51.100.1"}});
  EXPECT_EQ(proxies.client_of(ip("203.0.113.5"), req), ip("203.0.113.5"));
  EXPECT_EQ(trusted_proxies{}.client_of(ip("10.0.0.1"), req), ip("10.0.0.1")) << "nobody trusted by default";
}

TEST(HttpTrustedProxies, TheFirstUntrustedAddressFromTheRightIsTheClient) {
  const auto proxies = trusting({"10.0.0.0/8"});
  // The client forged the first entry; the proxies appended the rest.
  const auto req = with_headers({{"X-Forwarded-For", "1.2.3.4, 198.51.100.9, 10.0.0.3"}});
  EXPECT_EQ(proxies.client_of(ip("10.0.0.2"), req), ip("198.51.100.9"));
}

TEST(HttpTrustedProxies, SeveralHeaderFieldsReadInOrder) {
  const auto proxies = trusting({"10.0.0.0/8"});
  const auto req = with_headers({{"X-Forwarded-For", "1.2.3.4"}, {"X-Forwarded-For", "198.51.100.9:5555"}});
  EXPECT_EQ(proxies.client_of(ip("10.0.0.2"), req), ip("198.51.100.9"));
}

TEST(HttpTrustedProxies, WithoutAHeaderOrWithGarbageThePeerStands) {
  const auto proxies = trusting({"10.0.0.0/8"});
  EXPECT_EQ(proxies.client_of(ip("10.0.0.2"), with_headers({})), ip("10.0.0.2"));
  EXPECT_EQ(proxies.client_of(ip("10.0.0.2"), with_headers({{"X-Forwarded-For", "1.2.3.4, nonsense"}})),
            ip("10.0.0.2"));
  // Every hop trusted: the leftmost is as far as the chain goes.
  EXPECT_EQ(proxies.client_of(ip("10.0.0.2"), with_headers({{"X-Forwarded-For", "10.9.9.9, 10.0.0.7"}})),
            ip("10.9.9.9"));
}

TEST(HttpTrustedProxies, OnlyTheConfiguredHeaderCounts) {
  const auto xff = trusting({"10.0.0.0/8"});
  const auto req = with_headers({{"Forwarded", "for=198.51.100.1"}});
  EXPECT_EQ(xff.client_of(ip("10.0.0.2"), req), ip("10.0.0.2"))
      << "a client's own Forwarded header is ignored";
  const auto forwarded = trusting({"10.0.0.0/8"}, forwarded_header::forwarded);
  EXPECT_EQ(forwarded.client_of(ip("10.0.0.2"), req), ip("198.51.100.1"));
  EXPECT_EQ(forwarded.client_of(ip("10.0.0.2"), with_headers({{"X-Forwarded-For", "198.51.100.1"}})),
            ip("10.0.0.2"));
}

TEST(HttpTrustedProxies, ReadsForwardedElements) {
  const auto proxies = trusting({"10.0.0.0/8"}, forwarded_header::forwarded);
  const auto req = with_headers(
      {{"Forwarded",
        R"(for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711";proto=https)"}});
  EXPECT_EQ(proxies.client_of(ip("10.0.0.2"), req), ip("2001:db8:cafe::17"));
  EXPECT_EQ(proxies.client_of(ip("10.0.0.2"), with_headers({{"Forwarded", "for=unknown"}})), ip("10.0.0.2"));
}

TEST(HttpTrustedProxies, ReadsAtMostMaxHops) {
  const auto proxies = trusting({"10.0.0.0/8"});
  std::string chain = "198.51.100.1";
  for (std::size_t i = 0; i < trusted_proxies::max_hops + 5; ++i)
    chain += ", 10.0.0." + std::to_string(i + 1);
  const auto req = with_headers({{"X-Forwarded-For", chain.c_str()}});
  EXPECT_EQ(proxies.client_of(ip("10.0.0.2"), req), ip("10.0.0.6")) << "beyond max_hops nothing is read";
}

TEST(HttpClientKey, IPv4IsItselfIPv6IsItsSlash64) {
  EXPECT_EQ(client_key(ip("192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(client_key(ip("::ffff:192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
  EXPECT_EQ(client_key(ip("2001:db8:1:2::1")), client_key(ip("2001:db8:1:2:ffff::9")));
  EXPECT_NE(client_key(ip("2001:db8:1:2::1")), client_key(ip("2001:db8:1:3::1")));
}

TEST(HttpForwardedAddress, AcceptsTheFormsProxiesWrite) {
  EXPECT_EQ(parse_forwarded_address("192.0.2.7"), ip("192.0.2.7"));
  EXPECT_EQ(parse_forwarded_address(" 192.0.2.7:8080 "), ip("192.0.2.7"));
  EXPECT_EQ(parse_forwarded_address("2001:db8::1"), ip("2001:db8::1"));
  EXPECT_EQ(parse_forwarded_address("[2001:db8::1]:443"), ip("2001:db8::1"));
  EXPECT_EQ(parse_forwarded_address("\"[2001:db8::1]\""), ip("2001:db8::1"));
  for (const auto* bad : {"", "unknown", "_hidden", "[2001:db8::1", "host.example", "1.2.3.4:5:6"}) {
    EXPECT_FALSE(parse_forwarded_address(bad)) << bad;
  }
}

}  // namespace
}  // namespace progress::bridge
