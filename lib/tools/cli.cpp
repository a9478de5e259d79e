#include "tools/cli.h"

#include <iostream>
#include <new>

#include "core/error.h"
#include "io/model_json.h"

namespace mithril::tools {

std::string version_line(const std::string& tool) {
  return tool + " " + MITHRIL_VERSION + " (model format " + kModelFormatVersion + ")";
}

int run_guarded(const std::string& tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    std::cerr << tool << ": error: out of memory\n";
  } catch (const std::exception& e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
  }
  return kExitInputError;
}

}  // namespace mithril::tools
