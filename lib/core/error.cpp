#include "core/error.h"

namespace mithril {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::io: return "io";
    case ErrorKind::format: return "format";
    case ErrorKind::schema: return "schema";
    case ErrorKind::shape: return "shape";
    case ErrorKind::unsupported: return "unsupported";
    case ErrorKind::invalid_argument: return "invalid_argument";
  }
  return "unknown";
}

Error::Error(ErrorKind kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}

Error Error::with_context(const std::string& context) const {
  return Error(kind_, context + ": " + what());
}

}  // namespace mithril
