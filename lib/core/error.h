#pragma once
// The one error vocabulary of the library.
//
// Every failure the library reports is a thrown mithril::Error (never a return code): the kind
// says which family of problem it is, the message says where (file, JSON path, tensor or node
// name), what was found and what was expected. Outer layers add context with with_context();
// they never reword. Programming mistakes (calling an API out of contract) are assertions.
#include <stdexcept>
#include <string>

namespace mithril {

/// The families of errors. Apps map every kind to exit code 2 (bad input or usage).
enum class ErrorKind {
  io,           ///< a file could not be opened, read, written or renamed
  format,       ///< bytes that do not follow a file format (corrupt, truncated, bad magic)
  schema,       ///< a model dict that breaks the JSON format or its schema
  shape,        ///< shapes or dtypes that do not agree
  unsupported,  ///< a valid request this build cannot do (dtype, operator, version)
  invalid_argument,  ///< a bad value given by the caller (name not found, bad option)
};

/// Name of an error kind ("io", "format", ...).
const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message);

  ErrorKind kind() const { return kind_; }

  /// A copy of this error with `context + ": "` in front of the message, e.g. the file name.
  Error with_context(const std::string& context) const;

 private:
  ErrorKind kind_;
};

}  // namespace mithril
