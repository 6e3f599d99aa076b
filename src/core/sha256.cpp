#include "satx/core/sha256.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include <openssl/evp.h>

#include "satx/core/error.hpp"

namespace satx {

struct Sha256::Context {
  EVP_MD_CTX* md = nullptr;
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  context_->md = EVP_MD_CTX_new();
  if (!context_->md || EVP_DigestInit_ex(context_->md, EVP_sha256(), nullptr) != 1)
    throw_runtime("SHA-256: OpenSSL could not start a digest");
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_->md); }

void Sha256::update(const void* data, size_t size) {
  if (size > 0 && EVP_DigestUpdate(context_->md, data, size) != 1) throw_runtime("SHA-256: OpenSSL digest update failed");
}

std::array<uint8_t, 32> Sha256::finish() {
  std::array<uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->md, digest.data(), &length) != 1 || length != digest.size())
    throw_runtime("SHA-256: OpenSSL digest failed");
  return digest;
}

std::string Sha256::hex() {
  static const char* kHex = "0123456789abcdef";
  std::string text;
  for (const uint8_t byte : finish()) {
    text += kHex[byte >> 4];
    text += kHex[byte & 15];
  }
  return text;
}

std::string sha256_hex(const void* data, size_t size) {
  Sha256 hash;
  hash.update(data, size);
  return hash.hex();
}

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_bad_data("reading " + path.string() + ": " + std::strerror(errno));
  Sha256 hash;
  std::vector<char> chunk(1 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    hash.update(chunk.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw_bad_data("reading " + path.string() + ": read error");
  return hash.hex();
}

}  // namespace satx
