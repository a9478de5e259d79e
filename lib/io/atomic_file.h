#pragma once
// Writing files without ever destroying what the user had.
//
// AtomicFile writes into a temporary file in the destination's folder (so the final rename never
// crosses file systems), and commit() flushes it to disk (fsync), renames it over the destination
// and fsyncs the folder. A replaced file keeps its permissions; a symbolic link is followed (the
// file it points to is replaced, the link stays). Until commit() the destination is
// untouched; if the writer is destroyed without commit() (an error, an exception), the temporary
// file is removed.
//
// Also:
// - An existing device or pipe (/dev/null, a named pipe) is written directly, like standard
//   output: there is nothing to replace atomically.
// - A destination without any write permission bit (e.g. 0444), or one this process may not write,
//   is refused before anything is written (as a shell redirect or numpy.save would refuse it),
//   unless an AtomicWriteGroup with replace_read_only is active on this thread (the tools' --force).
// - Several outputs are replaced as a set inside an AtomicWriteGroup: every file is written and
//   fsynced first, the renames happen only when all of them succeeded.
// - Temporaries are named ".NAME.tmp-XXXXXX" and locked (flock) while they are written. The first
//   write into a folder removes the temporaries a killed run left there: names of exactly that
//   pattern, regular files, last modified before this process started, and not locked by a
//   live writer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

  /// fsync, rename over the destination, fsync the folder. Throws Error(io). Inside an
  /// AtomicWriteGroup the file is fsynced and closed here, and renamed by the group's commit().
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
  bool is_direct_ = false;  ///< a device or pipe: written in place, no temporary
};

/// Makes the files committed on this thread while it lives one atomic set: AtomicFile::commit()
/// only fsyncs, and commit() renames them all, in the order they were committed, once every one
/// of them was written. Destroyed without commit() (an error in any output), every temporary is
/// removed and no destination is touched. (The renames themselves are the only step that can
/// still fail part way: they need no space and fail only if the folder changes meanwhile.)
/// Groups nest: an inner group commits into nothing but its own files.
class AtomicWriteGroup {
 public:
  struct Options {
    /// Replace destinations that have no write permission (--force); refused otherwise.
    bool replace_read_only = false;
  };
  AtomicWriteGroup();
  explicit AtomicWriteGroup(Options options);
  ~AtomicWriteGroup();
  AtomicWriteGroup(const AtomicWriteGroup&) = delete;
  AtomicWriteGroup& operator=(const AtomicWriteGroup&) = delete;

  /// Renames every prepared file into place. Throws Error(io) naming the file that failed.
  void commit();

  struct Prepared {
    std::string path;         ///< as the user named it (for messages)
    std::string temp_path;
    std::string target_path;  ///< what the rename replaces
    int fd = -1;              ///< still open (and locked) until the rename
  };

 private:
  friend class AtomicFile;
  Options options_;
  std::vector<Prepared> prepared_;
  AtomicWriteGroup* outer_ = nullptr;
  bool committed_ = false;
};

/// Writes `bytes` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Reads a whole file ("-" reads standard input; pipes are read to their end). Folders and devices
/// (/dev/zero never ends) are refused. Throws Error(io) naming the file.
std::string read_file(const std::string& path);

}  // namespace mithril
