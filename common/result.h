// Result<T>: the return type of control-path code (netns, control, plugins,
// the data plane's API handlers). Shaped like C++23's std::expected, which
// g++ 12 lacks in C++20: a value or an Error, never an exception.
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace ferry {

// What kind of failure an error is, for a caller that acts on the kind
// rather than on the words (the data-plane API's reply code, a reconciler
// that counts "already gone" as done). Most errors leave it kNone.
enum class ErrorCode : std::uint8_t {
  kNone,      // not classified
  kNotFound,  // the thing named does not exist
  kExists,    // it exists already
  kInvalid,   // the input is wrong, or unfit for what was asked
  kBusy,      // the current state forbids it (still in use, no room)
  kInternal,  // the system failed
};

// What went wrong, in words a user can act on. `sys_errno` carries the errno
// (or negated DPDK/libnl code turned into errno) when a system call failed;
// `code` the kind, when the code that failed knows it.
struct Error {
  std::string message;
  int sys_errno = 0;
  ErrorCode code = ErrorCode::kNone;

  // Prefixes the message with context: "attach port veth1: <message>".
  [[nodiscard]] Error wrap(std::string_view context) const {
    return Error{fmt::format("{}: {}", context, message), sys_errno, code};
  }
  // The same error, of kind `kind`: `return make_error(...).with_code(ErrorCode::kNotFound);`
  [[nodiscard]] Error with_code(ErrorCode kind) && {
    code = kind;
    return std::move(*this);
  }
};

// Builds an Error from a format string.
template <typename... Args>
[[nodiscard]] Error make_error(fmt::format_string<Args...> format, Args&&... args) {
  return Error{fmt::format(format, std::forward<Args>(args)...), 0};
}

// The text for an errno value; thread-safe, unlike strerror().
[[nodiscard]] inline std::string errno_string(int err) {
  char buffer[128];
  // GNU strerror_r returns the message, which may or may not be in buffer.
  return strerror_r(err, buffer, sizeof(buffer));
}

// Builds an Error for a failed system call from errno (or an explicit code).
template <typename... Args>
[[nodiscard]] Error make_sys_error(int err, fmt::format_string<Args...> format, Args&&... args) {
  return Error{fmt::format("{}: {}", fmt::format(format, std::forward<Args>(args)...), errno_string(err)), err};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "Result<Error> is ambiguous");

  Result(const T& value) : state_(std::in_place_index<0>, value) {}          // NOLINT(google-explicit-constructor)
  Result(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}    // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & { return std::get<0>(state_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(state_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(state_)); }

  [[nodiscard]] const Error& error() const& { return std::get<1>(state_); }
  [[nodiscard]] Error&& error() && { return std::get<1>(std::move(state_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  [[nodiscard]] T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return has_value(); }
  [[nodiscard]] const Error& error() const& { return error_; }
  [[nodiscard]] Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool failed_ = false;
};

// The success value of Result<void>: `return ok();`.
[[nodiscard]] inline Result<void> ok() { return {}; }

}  // namespace ferry

// Early return on error, in a function that itself returns some Result<U>:
//
//   FERRY_TRY(vni, parse_vni(text));  // declares `vni`, the value, or returns the Error
//   FERRY_TRY_VOID(check_name(name));  // for a Result<void>
//
// FERRY_TRY expands to three statements (it must declare `name` in the
// caller's scope), so it cannot be the body of an unbraced if or loop.
#define FERRY_TRY(name, expr)                   \
  auto ferry_try_##name = (expr);               \
  if (!ferry_try_##name) {                      \
    return std::move(ferry_try_##name).error(); \
  }                                             \
  auto name = std::move(ferry_try_##name).value()  // NOLINT(bugprone-macro-parentheses): a declared name

#define FERRY_TRY_VOID(expr)                             \
  do {                                                   \
    if (auto ferry_try_void = (expr); !ferry_try_void) { \
      return std::move(ferry_try_void).error();          \
    }                                                    \
  } while (false)
