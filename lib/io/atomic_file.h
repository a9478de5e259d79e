#pragma once
// Writing files without ever destroying what the user had.
//
// AtomicFile writes into a temporary file in the destination's folder (so the final rename never
// crosses file systems), and commit() flushes it to disk (fsync), renames it over the destination
// and fsyncs the folder. A replaced file keeps its permissions; a symbolic link is followed (the
// file it points to is replaced, the link stays). Until commit() the destination is
// untouched; if the writer is destroyed without commit() (an error, an exception), the temporary
// file is removed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mithril {

class AtomicFile {
 public:
  /// Creates the temporary file next to `path`. "-" means standard output: written directly,
  /// commit() only flushes. Throws Error(io) naming `path`.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends bytes. Throws Error(io).
  void write(const void* data, std::size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

  /// Writes at an absolute offset (to patch a header after streaming the body). Throws Error(io).
  void pwrite(const void* data, std::size_t size, uint64_t offset);

  /// Bytes written so far (the current append offset).
  uint64_t size() const { return size_; }

  /// The descriptor of the temporary file, for writers that need it (e.g. to mmap).
  int fd() const { return fd_; }

  /// fsync, rename over the destination, fsync the folder. Throws Error(io).
  void commit();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string target_path_;  ///< path_ with symbolic links followed: what commit() replaces
  std::string temp_path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  bool committed_ = false;
  bool is_stdout_ = false;
};

/// Writes `bytes` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Reads a whole file ("-" reads standard input; pipes are read to their end). Folders and devices
/// (/dev/zero never ends) are refused. Throws Error(io) naming the file.
std::string read_file(const std::string& path);

}  // namespace mithril
