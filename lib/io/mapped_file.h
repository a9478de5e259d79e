#pragma once
// The read-only bytes of a whole file, for every reader of lib/io: memory-mapped for regular
// files, read into memory for standard input ("-") and other files that cannot be mapped.
#include <cstddef>
#include <string>

namespace mithril {

struct MapOptions {
  /// Prefault the mapping when the file is at most 2 GiB: readers that touch every byte once
  /// (npz, npy, zip members) save a page fault per 4 KiB. Off for readers that must stay O(index)
  /// at open (.mbin: zero-copy views touch only what is used).
  bool populate = true;
  /// Refuse anything but a regular file (pipes, devices, "-") instead of reading it into memory.
  bool regular_only = false;
};

/// Throws Error(io) naming the file when it cannot be opened, stat'ed, mapped or read.
class FileBytes {
 public:
  explicit FileBytes(const std::string& path, MapOptions options = {});
  ~FileBytes();
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;

  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
  void* mapping_ = nullptr;
  std::string buffer_;
};

}  // namespace mithril
