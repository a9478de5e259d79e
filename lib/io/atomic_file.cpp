#include "io/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <ctime>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>

#include "core/error.h"

namespace mithril {
namespace {

Error io_error(const std::string& path, const std::string& what) {
  return Error(ErrorKind::io, path + ": " + what + ": " + std::strerror(errno));
}

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The file a path ends at through symbolic links (even a dangling one), so that a rewrite goes
// where '>' would write instead of replacing the link by a file.
std::string follow_symlinks(const std::string& path) {
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {  // the kernel's limit (ELOOP)
    struct stat st;
    if (lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::string target(static_cast<std::size_t>(st.st_size) + 256, '\0');
    ssize_t n = readlink(p.c_str(), target.data(), target.size());
    if (n <= 0) return p;
    target.resize(static_cast<std::size_t>(n));
    p = target[0] == '/' ? target : parent_dir(p) + "/" + target;
  }
  return p;
}

constexpr const char* kTempMarker = ".tmp-";
constexpr std::size_t kTempRandomChars = 6;  // mkstemp's XXXXXX

// When this process started (approximately: when the library was loaded). Temporaries last
// modified before it cannot belong to a write of this run.
const struct timespec kRunStart = [] {
  struct timespec t {};
  clock_gettime(CLOCK_REALTIME, &t);
  return t;
}();

thread_local AtomicWriteGroup* t_group = nullptr;

// ".NAME.tmp-XXXXXX" exactly, as AtomicFile makes them.
bool is_our_temp_name(const char* name) {
  std::string n(name);
  std::size_t marker = n.rfind(kTempMarker);
  if (n.size() < 2 || n[0] != '.' || marker == std::string::npos || marker < 2) return false;
  std::size_t tail = marker + std::char_traits<char>::length(kTempMarker);
  if (n.size() - tail != kTempRandomChars) return false;
  for (std::size_t i = tail; i < n.size(); ++i)
    if (!std::isalnum(static_cast<unsigned char>(n[i]))) return false;
  return true;
}

bool before_run_start(const struct timespec& t) {
  return t.tv_sec < kRunStart.tv_sec || (t.tv_sec == kRunStart.tv_sec && t.tv_nsec < kRunStart.tv_nsec);
}

// Removes the temporaries a killed run left in `dir` (see the header); once per folder and process.
// Best effort: a folder that cannot be listed, or a file that cannot be removed, is left alone.
void remove_stale_temporaries(const std::string& dir) {
  static std::mutex mutex;
  static std::set<std::string> done;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!done.insert(dir).second) return;
  }
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  int dfd = dirfd(d);
  while (struct dirent* e = readdir(d)) {
    if (!is_our_temp_name(e->d_name)) continue;
    int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat st;
    // A live writer holds an exclusive lock on its temporary until it renames it.
    bool stale = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && before_run_start(st.st_mtim) &&
                 flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (stale) unlinkat(dfd, e->d_name, 0);
    close(fd);
  }
  closedir(d);
}

}  // namespace

AtomicWriteGroup::AtomicWriteGroup() : AtomicWriteGroup(Options{}) {}

AtomicWriteGroup::AtomicWriteGroup(Options options) : options_(options), outer_(t_group) { t_group = this; }

AtomicWriteGroup::~AtomicWriteGroup() {
  t_group = outer_;
  if (committed_) return;
  for (const Prepared& p : prepared_) {
    if (p.fd >= 0) close(p.fd);
    unlink(p.temp_path.c_str());
  }
}

void AtomicWriteGroup::commit() {
  if (committed_) return;
  committed_ = true;
  t_group = outer_;  // files written after this are not part of the set
  std::set<std::string> dirs;
  std::size_t k = 0;
  try {
    for (; k < prepared_.size(); ++k) {
      Prepared& p = prepared_[k];
      if (std::rename(p.temp_path.c_str(), p.target_path.c_str()) != 0) throw io_error(p.path, "cannot rename the temporary file");
      close(p.fd);
      p.fd = -1;
      dirs.insert(parent_dir(p.target_path));
    }
  } catch (...) {
    for (; k < prepared_.size(); ++k) {  // what was not renamed is removed
      if (prepared_[k].fd >= 0) close(prepared_[k].fd);
      unlink(prepared_[k].temp_path.c_str());
    }
    throw;
  }
  for (const std::string& dir : dirs) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      fsync(fd);
      close(fd);
    }
  }
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  if (path_ == "-") {
    is_stdout_ = true;
    fd_ = STDOUT_FILENO;
    return;
  }
  target_path_ = follow_symlinks(path_);
  struct stat st;
  bool found = stat(target_path_.c_str(), &st) == 0;
  if (found && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    // A device or a pipe (/dev/null, a named pipe): written directly, as '>' would. A temporary
    // file renamed over it would replace the device node itself.
    fd_ = ::open(target_path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw io_error(path_, "cannot open for writing");
    is_direct_ = true;
    return;
  }
  bool exists = found && S_ISREG(st.st_mode);
  if (exists && ((st.st_mode & 0222) == 0 || access(target_path_.c_str(), W_OK) != 0) &&
      !(t_group && t_group->options_.replace_read_only)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw Error(ErrorKind::io, path_ + ": read-only file (mode " + mode + "), not replaced; --force replaces it");
  }
  remove_stale_temporaries(parent_dir(target_path_));
  std::string base = target_path_.substr(target_path_.rfind('/') == std::string::npos ? 0 : target_path_.rfind('/') + 1);
  temp_path_ = parent_dir(target_path_) + "/." + base + kTempMarker + std::string(kTempRandomChars, 'X');
  fd_ = mkstemp(temp_path_.data());
  if (fd_ < 0) throw io_error(path_, "cannot create a temporary file in " + parent_dir(target_path_));
  flock(fd_, LOCK_EX | LOCK_NB);  // marks it live for remove_stale_temporaries of other processes
  // Replacing a file keeps its permissions (a private model stays private); a new file gets what
  // an ordinary file would (mkstemp makes it 0600).
  if (exists) {
    fchmod(fd_, st.st_mode & 07777);
  } else {
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd_, 0666 & ~mask);
  }
}

AtomicFile::~AtomicFile() {
  if (is_direct_ && fd_ >= 0) close(fd_);
  if (is_stdout_ || is_direct_ || committed_) return;
  if (fd_ >= 0) close(fd_);
  unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  std::size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(path_, "write failed");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  size_ += size;
}

void AtomicFile::pwrite(const void* data, std::size_t size, uint64_t offset) {
  if (is_stdout_) throw Error(ErrorKind::io, path_ + ": cannot seek back in standard output");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::pwrite(fd_, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(path_, "write failed");
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

void AtomicFile::commit() {
  if (committed_) return;
  if (is_stdout_) {
    committed_ = true;
    return;
  }
  if (is_direct_) {
    committed_ = true;
    int rc = close(fd_);
    fd_ = -1;
    if (rc != 0) throw io_error(path_, "close failed");
    return;
  }
  if (fsync(fd_) != 0) throw io_error(path_, "fsync failed");
  if (t_group) {
    // The group renames it with the others; the descriptor keeps the lock until then.
    t_group->prepared_.push_back({path_, temp_path_, target_path_, fd_});
    fd_ = -1;
    committed_ = true;
    return;
  }
  if (close(fd_) != 0) {
    fd_ = -1;
    throw io_error(path_, "close failed");
  }
  fd_ = -1;
  if (std::rename(temp_path_.c_str(), target_path_.c_str()) != 0) throw io_error(path_, "cannot rename the temporary file");
  committed_ = true;
  int dir = open(parent_dir(target_path_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

std::string read_file(const std::string& path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(path, "cannot open");
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error(ErrorKind::io, path + ": is a directory");
    // Devices have no end (/dev/zero, /dev/urandom): reading one would exhaust memory.
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) throw Error(ErrorKind::io, path + ": not a regular file (a device)");
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw io_error(path, "read failed");
  return data;
}

}  // namespace mithril
