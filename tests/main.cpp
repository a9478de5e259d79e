// The main of every Catch2 test executable: Catch2's session, where a test that checks nothing
// fails, plus skips that CTest sees.
//
// A test case that cannot run here calls mithril::testing::skip_test(reason) and returns. When
// every test case run by the process skipped (CTest runs one case per process), the process exits
// with kSkipExitCode, which tests/CMakeLists.txt declares as SKIP_RETURN_CODE: CTest reports the
// case as skipped, not passed. Run together with others, a skip is printed and counted.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <iostream>

#include "test_util.h"

namespace {

struct SkipCounts {
  int cases_run = 0;
  int cases_skipped = 0;
  bool current_skipped = false;
};

SkipCounts& skip_counts() {
  static SkipCounts counts;
  return counts;
}

struct SkipListener : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(Catch::TestCaseInfo const&) override {
    ++skip_counts().cases_run;
    skip_counts().current_skipped = false;
  }
  void testCaseEnded(Catch::TestCaseStats const&) override {
    if (skip_counts().current_skipped) ++skip_counts().cases_skipped;
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(SkipListener)

void mithril::testing::skip_test(const std::string& reason) {
  skip_counts().current_skipped = true;
  WARN("SKIPPED: " << reason);
  // The skip is the case's one assertion, so that --warn NoAssertions does not turn it into a failure.
  SUCCEED("skipped");
}

int main(int argc, char* argv[]) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  // Always on (Catch2 2.x takes only one --warn on the command line): a test case or leaf section
  // that runs no assertion fails, and so does a filter that matches no test case.
  Catch::ConfigData& config = session.configData();
  config.warnings = static_cast<Catch::WarnAbout::What>(config.warnings | Catch::WarnAbout::NoAssertions |
                                                        Catch::WarnAbout::NoTests);
  int rc = session.run();
  const SkipCounts& counts = skip_counts();
  if (counts.cases_skipped > 0)
    std::cout << counts.cases_skipped << " of " << counts.cases_run << " test cases skipped\n";
  if (rc == 0 && counts.cases_run > 0 && counts.cases_skipped == counts.cases_run) return mithril::testing::kSkipExitCode;
  return rc;
}
