// Bearer tokens: jwt_verifier::verify on any text (first byte 0), and on
// tokens correctly signed over fuzzed header and payload JSON (first byte 1:
// the rest is "<header>\n<payload>"), so the claim checks behind the
// signature are fuzzed too. An accepted token always names a valid user.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt_verifier.hpp"
#include "progress/protocol/topic.hpp"

using namespace progress::bridge;

namespace {

constexpr std::string_view secret = "fuzzing-secret-that-is-at-least-32-bytes";

std::string base64url(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3Fu]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 0x3Fu]);
  return out;
}

std::string signed_token(std::string_view header, std::string_view payload) {
  std::string token = base64url(header) + "." + base64url(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac, &mac_size);
  return token + "." + base64url(std::string_view{reinterpret_cast<const char*>(mac), mac_size});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const jwt_verifier verifier{jwt_verifier_options{std::string(secret), {}, std::chrono::seconds{30}}};
  // A fixed clock keeps runs reproducible: 2026-01-01T00:00:00Z.
  static const std::chrono::system_clock::time_point now{std::chrono::seconds{1767225600}};
  if (size == 0) return 0;
  const std::string_view rest{reinterpret_cast<const char*>(data) + 1, size - 1};

  std::string token;
  if (data[0] == 1) {
    const auto newline = rest.find('\n');
    if (newline == std::string_view::npos) return 0;
    token = signed_token(rest.substr(0, newline), rest.substr(newline + 1));
  } else {
    token = rest;
  }
  const auto result = verifier.verify(token, now);
  if (result) {
    if (!progress::is_valid_id(result.who->user_id)) std::abort();
  } else if (result.message.empty()) {
    std::abort();  // a refusal always says why
  }
  return 0;
}
