#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
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

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  if (path_ == "-") {
    is_stdout_ = true;
    fd_ = STDOUT_FILENO;
    return;
  }
  target_path_ = follow_symlinks(path_);
  std::string base = target_path_.substr(target_path_.rfind('/') == std::string::npos ? 0 : target_path_.rfind('/') + 1);
  temp_path_ = parent_dir(target_path_) + "/." + base + ".tmp-XXXXXX";
  fd_ = mkstemp(temp_path_.data());
  if (fd_ < 0) throw io_error(path_, "cannot create a temporary file in " + parent_dir(target_path_));
  // Replacing a file keeps its permissions (a private model stays private); a new file gets what
  // an ordinary file would (mkstemp makes it 0600).
  struct stat st;
  if (stat(target_path_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    fchmod(fd_, st.st_mode & 07777);
  } else {
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd_, 0666 & ~mask);
  }
}

AtomicFile::~AtomicFile() {
  if (is_stdout_ || committed_) return;
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
  if (fsync(fd_) != 0) throw io_error(path_, "fsync failed");
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
