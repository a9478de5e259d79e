#pragma once
// The library behind `mithril-migrate`: bring model files to a format version, in batches.
//
// Files are found from paths (files, folders searched recursively, glob patterns, or "-": one
// path per line on standard input), de-duplicated and sorted, so every run and every machine sees
// the same list; a shard K/N keeps a deterministic subset for splitting a store across machines.
// Each file is handled on its own (--jobs threads): read, detect its version, migrate through the
// format history, and (in write mode) written atomically (temporary file, fsync, rename) with the
// original kept as NAME.bak first. A failure on one file leaves that file untouched and is
// recorded with its path; it never stops the others. A file already at the target is not touched,
// so re-running over a migrated tree changes nothing.
//
// File kinds are adapters (kContainerAdapters in migrate.cpp): structure JSON (.json), .mbin and
// .mithril (structure JSON inside, tensors copied unchanged after their checksums are checked).
#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "io/model_json.h"

namespace mithril::versioning {
struct FormatHistory;
}

namespace mithril::tools {

enum class MigrateMode {
  write,    ///< migrate and write (in place with backups, or under output_dir)
  check,    ///< change nothing; report files not at the target version
  dry_run,  ///< change nothing; keep each file's new text in the report
};

struct MigrateOptions {
  std::vector<std::string> paths;     ///< files, folders (recursive), globs; "-" reads paths from `path_list`
  std::istream* path_list = nullptr;  ///< where "-" reads paths from (standard input in the app)
  std::string target = kModelFormatVersion;
  MigrateMode mode = MigrateMode::write;
  bool backup = true;                 ///< in place: keep the original as NAME.bak
  bool force = false;                 ///< replace files that are read-only (refused otherwise)
  /// Glob patterns (fnmatch) of files to leave out, matched against the path below its root and
  /// against the file name (--exclude 'config.json', --exclude 'inputs/*').
  std::vector<std::string> exclude;
  std::string output_dir;             ///< non-empty: write there, mirroring each file's path below its root
  int jobs = 1;                       ///< worker threads (1..256)
  int shard_index = 0;                ///< K of --shard K/N, 0 <= K < N
  int shard_count = 1;                ///< N
  bool shard_by_index = false;        ///< false: stable hash of the relative path; true: index in sorted order
  /// Called after each file (from worker threads, serialized): the result, files done, total.
  std::function<void(const struct FileResult&, std::size_t done, std::size_t total)> on_progress;
  /// The format history to use (null: the library's).
  const versioning::FormatHistory* history = nullptr;
};

enum class FileStatus {
  migrated,       ///< written at the target version
  up_to_date,     ///< already at the target version; not touched
  needs_migration,///< check / dry-run: not at the target version (would be migrated)
  failed,         ///< left untouched; see `error`
  skipped,        ///< found by a folder search or a glob but clearly not a model dict; see `note`
};

/// "migrated", "up-to-date", "needs-migration", "failed".
const char* file_status_name(FileStatus status);

struct FileResult {
  std::string path;         ///< as found
  std::string relative;     ///< below its root (used for --output-dir and --shard)
  std::string output;       ///< where it was (or would be) written
  std::string from_version; ///< detected version (empty if unreadable)
  FileStatus status = FileStatus::failed;
  std::string error;        ///< one line naming the file and what was wrong
  std::string note;         ///< why a file was skipped
  std::string new_text;     ///< dry-run: the migrated structure JSON
};

struct MigrateReport {
  std::string target;
  MigrateMode mode = MigrateMode::write;
  std::vector<FileResult> files;  ///< in sorted path order
  std::size_t migrated = 0, up_to_date = 0, needs_migration = 0, failed = 0, skipped = 0;
  double seconds = 0;

  /// 0 all good; 1 check found files not at the target; 2 some file failed (or nothing matched).
  int exit_code() const;
  /// One line, e.g. "migrated 120, already at 1.0.0 12, failed 3 (135 files, 1.20 s, 112.5 files/s)".
  std::string summary() const;
  /// The whole report as a JSON object (files, counts, seconds, files_per_second).
  std::string to_json() const;
};

/// A file to migrate: its path and its path relative to the root it was found under.
struct FoundFile {
  std::string path;
  std::string relative;
  bool named = false;  ///< given as a file (argument or list line), not found in a folder or by a glob
};

/// Finds model files: files as given; folders searched recursively for *.json, *.mbin and
/// *.mithril (skipping hidden files, NAME.bak and temporary files); glob patterns expanded;
/// "-" reads one path per line from `path_list`. Sorted by path, duplicates removed. Throws
/// Error(io) for a path that does not exist or a pattern that matches nothing.
std::vector<FoundFile> find_model_files(const std::vector<std::string>& paths, std::istream* path_list);

/// --shard K/N.
struct Shard {
  int index;
  int count;
};

/// Parses "K/N" (0 <= K < N). Throws Error(invalid_argument) quoting the text.
Shard parse_shard(const std::string& text);

/// What mithril-migrate prints for a report, besides the summary line: each failure (and, when
/// `verbose`, each skipped file) on `err`; the files not at the target (check) or their new text
/// (dry-run) on `out`.
void print_migrate_report(const MigrateReport& report, bool verbose, std::ostream& out, std::ostream& err);

/// True when a file belongs to shard K of N (stable FNV-1a hash of its relative path).
bool in_shard(const std::string& relative, int shard_index, int shard_count);

/// Migrates (or checks) every file. Throws Error(invalid_argument) for bad options and Error(io)
/// from discovery; per-file problems are recorded in the report, never thrown.
MigrateReport migrate_files(const MigrateOptions& options);

/// Migrates one file's bytes in memory: the structure JSON at `target` (the dict itself for a
/// .json file). Throws Error naming `path`.
std::string migrate_text(const std::string& text, const std::string& target, const std::string& path,
                         const versioning::FormatHistory* history = nullptr);

}  // namespace mithril::tools
