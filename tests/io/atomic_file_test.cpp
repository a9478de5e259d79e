// AtomicFile and AtomicWriteGroup: outputs replaced as a set, read-only destinations refused,
// temporaries of killed runs removed (and only those).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

#include "core/error.h"
#include "io/atomic_file.h"
#include "test_util.h"

using namespace mithril;
using mithril::testing::TempDir;
namespace fs = std::filesystem;

namespace {

void put_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::set<std::string> names_in(const TempDir& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir.path)) out.insert(e.path().filename().string());
  return out;
}

void set_mtime(const std::string& path, std::time_t when) {
  struct timespec times[2] = {{when, 0}, {when, 0}};
  REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

}  // namespace

TEST_CASE("AtomicWriteGroup: outputs replace their destinations only together", "[io][atomic]") {
  TempDir dir;
  put_file(dir / "a.json", "old a");
  put_file(dir / "b.mbin", "old b");
  SECTION("a failure after the first output leaves every destination as it was, and no temporary") {
    try {
      AtomicWriteGroup group;
      write_file_atomic(dir / "a.json", "new a");  // written and fsynced, not yet renamed
      REQUIRE(read_file(dir / "a.json") == "old a");
      AtomicFile b(dir / "b.mbin");
      b.write(std::string("new b, half"));
      throw std::runtime_error("disk full");  // what a failing second write does
    } catch (const std::runtime_error&) {
    }
    REQUIRE(read_file(dir / "a.json") == "old a");
    REQUIRE(read_file(dir / "b.mbin") == "old b");
    REQUIRE(names_in(dir) == std::set<std::string>{"a.json", "b.mbin"});
  }
  SECTION("an output that cannot be created refuses the whole set") {
    AtomicWriteGroup group;
    write_file_atomic(dir / "a.json", "new a");
    REQUIRE_THROWS_AS(write_file_atomic(dir / "no_such_folder/b.mbin", "new b"), Error);
  }
  SECTION("commit renames them all") {
    {
      AtomicWriteGroup group;
      write_file_atomic(dir / "a.json", "new a");
      write_file_atomic(dir / "b.mbin", "new b");
      REQUIRE(read_file(dir / "b.mbin") == "old b");
      group.commit();
    }
    REQUIRE(read_file(dir / "a.json") == "new a");
    REQUIRE(read_file(dir / "b.mbin") == "new b");
  }
  SECTION("without a group a commit renames at once") {
    write_file_atomic(dir / "a.json", "new a");
    REQUIRE(read_file(dir / "a.json") == "new a");
  }
  REQUIRE(read_file(dir / "b.mbin") != "new b, half");
  for (const std::string& name : names_in(dir)) REQUIRE(name.find(".tmp-") == std::string::npos);
}

TEST_CASE("AtomicFile: a read-only destination is refused unless the group allows it", "[io][atomic]") {
  TempDir dir;
  const std::string path = dir / "ro.json";
  put_file(path, "old");
  REQUIRE(chmod(path.c_str(), 0444) == 0);
  REQUIRE_THROWS_WITH(write_file_atomic(path, "new"), path + ": read-only file (mode 0444), not replaced; --force replaces it");
  REQUIRE(read_file(path) == "old");
  {
    AtomicWriteGroup group({.replace_read_only = true});
    write_file_atomic(path, "new");
    group.commit();
  }
  REQUIRE(read_file(path) == "new");
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  REQUIRE((st.st_mode & 07777) == 0444);  // still read-only: --force replaces, it does not chmod
  // Outside the group the refusal is back.
  REQUIRE_THROWS_AS(write_file_atomic(path, "newer"), Error);
  // A new file and a writable one are written as always.
  REQUIRE_NOTHROW(write_file_atomic(dir / "new.json", "x"));
  REQUIRE(chmod(path.c_str(), 0644) == 0);
  REQUIRE_NOTHROW(write_file_atomic(path, "newer"));
}

TEST_CASE("AtomicFile: the first write into a folder removes stale temporaries of killed runs only", "[io][atomic]") {
  TempDir dir;
  const std::time_t long_ago = std::time(nullptr) - 3600, later = std::time(nullptr) + 3600;
  const std::set<std::string> kept = {
      ".model.json.tmp-Ab3dE5x",  // 7 random characters: not mkstemp's
      ".model.json.tmp-Ab3dE",    // 5
      "model.json.tmp-Ab3dE5",    // no leading dot
      ".model.json.tmp-Ab3d!5",   // not alphanumeric
      ".tmp-Ab3dE5",              // no name
      ".recent.json.tmp-Zz9yY8",  // modified after this run started (another live writer's)
      ".locked.json.tmp-Qq1wW2",  // locked by a live writer
      ".folder.tmp-Dd4eE5",       // a folder
      "keep.txt",
  };
  const std::set<std::string> stale = {".model.json.tmp-Ab3dE5", ".m.mbin.tmp-000000", ".x.npz.tmp-zZzZzZ"};
  for (const std::string& name : kept) {
    if (name == ".folder.tmp-Dd4eE5") fs::create_directory(dir / name);
    else put_file(dir / name, "x");
    set_mtime(dir / name, name == ".recent.json.tmp-Zz9yY8" ? later : long_ago);
  }
  for (const std::string& name : stale) {
    put_file(dir / name, "half a file");
    set_mtime(dir / name, long_ago);
  }
  int lock_fd = open((dir / ".locked.json.tmp-Qq1wW2").c_str(), O_RDONLY);
  REQUIRE(lock_fd >= 0);
  REQUIRE(flock(lock_fd, LOCK_EX | LOCK_NB) == 0);

  {
    // While it is written, a temporary is locked: another process's cleanup leaves it alone.
    AtomicFile out(dir / "out.json");
    std::string temp;
    for (const std::string& name : names_in(dir))
      if (name.rfind(".out.json.tmp-", 0) == 0) temp = name;
    REQUIRE_FALSE(temp.empty());
    int fd = open((dir / temp).c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    REQUIRE(flock(fd, LOCK_EX | LOCK_NB) != 0);
    close(fd);
    out.write(std::string("{}"));
    out.commit();
  }
  close(lock_fd);

  std::set<std::string> expected = kept;
  expected.insert("out.json");
  REQUIRE(names_in(dir) == expected);
}

TEST_CASE("AtomicFile: a device or a named pipe is written in place, not replaced", "[io][atomic]") {
  TempDir dir;
  {
    AtomicWriteGroup group;  // not part of the set: there is nothing to rename
    write_file_atomic("/dev/null", "discarded");
    group.commit();
  }
  struct stat st;
  REQUIRE(stat("/dev/null", &st) == 0);
  REQUIRE(S_ISCHR(st.st_mode));
  const std::string fifo = dir / "pipe";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // a reader, so the writer's open does not block
  REQUIRE(reader >= 0);
  write_file_atomic(fifo, "through the pipe");
  char buffer[64] = {};
  REQUIRE(read(reader, buffer, sizeof buffer) == 16);
  REQUIRE(std::string(buffer) == "through the pipe");
  close(reader);
  REQUIRE(stat(fifo.c_str(), &st) == 0);
  REQUIRE(S_ISFIFO(st.st_mode));
  REQUIRE(names_in(dir) == std::set<std::string>{"pipe"});
}
