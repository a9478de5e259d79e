#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "io/atomic_file.h"

namespace mithril {
namespace {

// Files up to this size are prefaulted when mapped (MAP_POPULATE); past it, prefaulting could
// evict what it just read.
constexpr uint64_t kPopulateLimit = uint64_t{2} << 30;

// Closes the descriptor on every path out of the constructor.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

FileBytes::FileBytes(const std::string& path, MapOptions options) {
  if (path == "-" && !options.regular_only) {
    buffer_ = read_file(path);
    data_ = reinterpret_cast<const unsigned char*>(buffer_.data());
    size_ = buffer_.size();
    return;
  }
  Descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw Error(ErrorKind::io, path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(file.fd, &st) != 0) throw Error(ErrorKind::io, path + ": cannot stat: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(ErrorKind::io, path + ": is a directory");
  if (!S_ISREG(st.st_mode)) {
    if (options.regular_only) throw Error(ErrorKind::io, path + ": not a regular file");
    buffer_ = read_file(path);  // pipes, character devices
    data_ = reinterpret_cast<const unsigned char*>(buffer_.data());
    size_ = buffer_.size();
    return;
  }
  if (st.st_size == 0) return;
  bool populate = options.populate && static_cast<uint64_t>(st.st_size) <= kPopulateLimit;
  void* p = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), file.fd, 0);
  if (p == MAP_FAILED) throw Error(ErrorKind::io, path + ": cannot map: " + std::strerror(errno));
  if (options.populate && !populate) madvise(p, static_cast<std::size_t>(st.st_size), MADV_SEQUENTIAL);
  mapping_ = p;
  data_ = static_cast<const unsigned char*>(p);
  size_ = static_cast<std::size_t>(st.st_size);
}

FileBytes::~FileBytes() {
  if (mapping_) munmap(mapping_, size_);
}

}  // namespace mithril
