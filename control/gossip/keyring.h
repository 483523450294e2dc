// Keyring: the cluster keys that seal every gossip message. One primary key
// seals what this node sends; every key in the ring can open what it
// receives, selected by the key id carried in the envelope header. Rotation
// without downtime: install the new key everywhere, make it primary
// everywhere, remove the old one.
//
// Key file: UTF-8 text, one key per line, each the standard base64 (with
// padding) of exactly 32 random bytes; blank lines and lines starting with
// '#' are ignored; the first key is the primary. `ferry-keygen`-style output:
// Keyring::encode(Keyring::generate()).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ferry::gossip {

constexpr std::size_t kKeySize = 32;
using Key = std::array<std::uint8_t, kKeySize>;
using KeyId = std::uint32_t;

class Keyring {
 public:
  // Parses a key file's text; errors name the offending line.
  static Result<Keyring> parse(std::string_view text);
  // Reads and parses a key file; refuses files readable by group/others.
  static Result<Keyring> load(const std::string& path);

  static Key generate();                      // 32 random bytes (libsodium)
  static std::string encode(const Key& key);  // base64, one key-file line
  static Result<Key> decode(std::string_view line);
  // First 4 bytes of BLAKE2b(key), big-endian: names a key on the wire
  // without revealing it.
  static KeyId id_of(const Key& key);

  // Adds a key (not primary). Installing a key twice is harmless.
  Result<void> install(const Key& key);
  // Makes an installed key the primary.
  Result<void> use(KeyId id);
  // Removes a key; the primary cannot be removed.
  Result<void> remove(KeyId id);

  [[nodiscard]] bool empty() const { return keys_.empty(); }
  [[nodiscard]] KeyId primary_id() const { return primary_; }
  [[nodiscard]] const Key& primary() const;  // precondition: !empty()
  [[nodiscard]] const Key* find(KeyId id) const;
  [[nodiscard]] std::vector<KeyId> ids() const;  // primary first

  // The key file text for this ring (primary first).
  [[nodiscard]] std::string to_text() const;

 private:
  struct Slot {
    KeyId id;
    Key key;
  };
  std::vector<Slot> keys_;  // few keys: a linear scan beats a map
  KeyId primary_ = 0;
};

}  // namespace ferry::gossip
