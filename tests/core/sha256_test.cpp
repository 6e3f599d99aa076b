// SHA-256 (OpenSSL EVP) against the FIPS 180-2 test vectors.
#include <algorithm>

#include <gtest/gtest.h>

#include "satx/core/error.hpp"
#include "satx/core/sha256.hpp"
#include "support/test_support.hpp"

using satx::testing::TempDir;

TEST(Sha256, MatchesPublishedTestVectors) {
  EXPECT_EQ(satx::sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(satx::sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(satx::sha256_hex(two_blocks.data(), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // One million 'a', fed in uneven pieces so buffering across block boundaries is exercised.
  satx::Sha256 hash;
  const std::string chunk(997, 'a');
  size_t fed = 0;
  for (size_t piece = 1; fed < 1000000; piece = piece % 131 + 7) {
    const size_t n = std::min({piece, chunk.size(), size_t{1000000} - fed});
    hash.update(chunk.data(), n);
    fed += n;
  }
  EXPECT_EQ(hash.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, HashesFilesLikeInMemory) {
  TempDir dir;
  std::string bytes;
  for (int i = 0; i < 3 << 20; ++i) bytes += static_cast<char>(i * 7 + 3);
  satx::testing::write_text(dir / "blob", bytes);
  EXPECT_EQ(satx::sha256_file(dir / "blob"), satx::sha256_hex(bytes.data(), bytes.size()));
  EXPECT_THROW(satx::sha256_file(dir / "absent"), satx::Error);
}

