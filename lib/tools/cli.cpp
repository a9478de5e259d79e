#include "tools/cli.h"

#include <iostream>
#include <new>

#include "core/error.h"
#include "io/model_json.h"
#include "tools/report_json.h"

namespace mithril::tools {

std::string version_line(const std::string& tool) {
  return tool + " " + MITHRIL_VERSION + " (model format " + kModelFormatVersion + ")";
}

std::string tool_error_json(const std::string& tool, const std::string& kind, const std::string& message) {
  JsonOut j;
  j.begin_object().key("tool").str(tool).key("ok").boolean(false).key("error_kind").str(kind).key("error").str(message).end_object();
  return j.text();
}

int run_guarded(const std::string& tool, const std::function<int()>& body, bool json_errors) {
  std::string kind, message;
  try {
    return body();
  } catch (const std::bad_alloc&) {
    kind = "out_of_memory";
    message = "out of memory";
  } catch (const Error& e) {
    kind = error_kind_name(e.kind());
    message = e.what();
  } catch (const std::exception& e) {
    kind = "internal";
    message = e.what();
  }
  if (json_errors) std::cout << tool_error_json(tool, kind, message) << std::flush;
  std::cerr << tool << ": error: " << message << "\n";
  return kExitInputError;
}

}  // namespace mithril::tools
