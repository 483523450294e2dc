#include "control/gossip/keyring.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ferry::gossip {

namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

Key Keyring::generate() {
  Key key{};
  if (!sodium_ready()) std::abort();  // libsodium cannot fail to init on Linux; no key is better than a weak one
  randombytes_buf(key.data(), key.size());
  return key;
}

std::string Keyring::encode(const Key& key) {
  std::string out(sodium_base64_ENCODED_LEN(kKeySize, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<Key> Keyring::decode(std::string_view line) {
  line = trim(line);
  Key key{};
  std::size_t size = 0;
  const char* end = nullptr;
  // A valid key is exactly 44 base64 characters; reject longer input up front.
  if (line.size() != 44) return make_error("a key is 44 base64 characters (32 bytes), got {} characters", line.size());
  if (sodium_base642bin(key.data(), key.size(), line.data(), line.size(), nullptr, &size, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != line.data() + line.size()) {
    return make_error("not valid base64");
  }
  if (size != kKeySize) return make_error("a key is 32 bytes, got {}", size);
  return key;
}

KeyId Keyring::id_of(const Key& key) {
  std::uint8_t hash[crypto_generichash_BYTES_MIN];
  crypto_generichash(hash, sizeof hash, key.data(), key.size(), nullptr, 0);
  return (KeyId{hash[0]} << 24) | (KeyId{hash[1]} << 16) | (KeyId{hash[2]} << 8) | KeyId{hash[3]};
}

Result<Keyring> Keyring::parse(std::string_view text) {
  if (!sodium_ready()) return make_error("libsodium failed to initialize");
  Keyring ring;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto key = decode(line);
    if (!key) return key.error().wrap(fmt::format("key file line {}", line_no));
    const KeyId id = id_of(*key);
    if (ring.find(id) != nullptr) return make_error("key file line {}: duplicate key (id {:08x})", line_no, id);
    if (auto r = ring.install(*key); !r) return r.error().wrap(fmt::format("key file line {}", line_no));
  }
  if (ring.empty()) return make_error("key file holds no key (one base64 32-byte key per line)");
  return ring;
}

Result<Keyring> Keyring::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return make_sys_error(errno, "key file {}", path);
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return make_error("key file {}: readable by group or others (mode {:o}); chmod 600 it", path, st.st_mode & 0777);
  }
  std::ifstream in(path);
  if (!in) return make_sys_error(errno, "key file {}", path);
  std::stringstream buf;
  buf << in.rdbuf();
  auto ring = parse(buf.str());
  if (!ring) return ring.error().wrap(fmt::format("key file {}", path));
  return ring;
}

Result<void> Keyring::install(const Key& key) {
  if (!sodium_ready()) return make_error("libsodium failed to initialize");
  const KeyId id = id_of(key);
  if (const Key* existing = find(id); existing != nullptr) {
    if (sodium_memcmp(existing->data(), key.data(), kKeySize) != 0) {
      return make_error("key id {:08x} collides with a different installed key; generate another key", id);
    }
    return ok();
  }
  keys_.push_back(Slot{id, key});
  if (keys_.size() == 1) primary_ = id;
  return ok();
}

Result<void> Keyring::use(KeyId id) {
  if (find(id) == nullptr) return make_error("no installed key has id {:08x}", id);
  primary_ = id;
  return ok();
}

Result<void> Keyring::remove(KeyId id) {
  if (id == primary_) return make_error("key {:08x} is the primary key; make another key primary first", id);
  auto it = std::find_if(keys_.begin(), keys_.end(), [id](const Slot& s) { return s.id == id; });
  if (it == keys_.end()) return make_error("no installed key has id {:08x}", id);
  sodium_memzero(it->key.data(), it->key.size());
  keys_.erase(it);
  return ok();
}

const Key& Keyring::primary() const { return *find(primary_); }

const Key* Keyring::find(KeyId id) const {
  for (const Slot& s : keys_) {
    if (s.id == id) return &s.key;
  }
  return nullptr;
}

std::vector<KeyId> Keyring::ids() const {
  std::vector<KeyId> out;
  if (empty()) return out;
  out.push_back(primary_);
  for (const Slot& s : keys_) {
    if (s.id != primary_) out.push_back(s.id);
  }
  return out;
}

std::string Keyring::to_text() const {
  std::string out;
  for (KeyId id : ids()) out += encode(*find(id)) + "\n";
  return out;
}

}  // namespace ferry::gossip
