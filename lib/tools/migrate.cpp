#include "tools/migrate.h"

#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/mbin.h"
#include "io/safetensors.h"
#include "tools/common.h"
#include "io/mithril_file.h"
#include "tools/cli.h"
#include "tools/report_json.h"
#include "versioning/format_history.h"

namespace mithril::tools {
namespace fs = std::filesystem;

namespace {

// One kind of model file: how to get its structure JSON out, and how to write a copy of it with a
// new structure JSON (atomically: the writer renames a finished temporary file into place).
struct ContainerAdapter {
  const char* extension;
  std::function<std::string(const std::string& path)> read_structure;
  std::function<void(const std::string& source, const std::string& dest, const std::string& structure)> write;
};

const std::vector<ContainerAdapter>& adapters() {
  static const std::vector<ContainerAdapter> table = {
      {".json", [](const std::string& path) { return read_file(path); },
       [](const std::string&, const std::string& dest, const std::string& structure) { write_file_atomic(dest, structure); }},
      {".mbin", [](const std::string& path) { return MbinFile::open(path)->structure_json(); },
       [](const std::string& source, const std::string& dest, const std::string& structure) {
         // The tensors are copied unchanged, in their file order, with the same alignment. The old
         // mapping stays valid while the new file is renamed over it.
         auto file = MbinFile::open(source);
         unsigned alignment_log2 = 0;
         while ((uint64_t{1} << alignment_log2) < file->alignment()) ++alignment_log2;
         std::vector<MbinTensorInfo> order = file->tensors();
         std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
         // Package metadata records the structure's format version: keep it true.
         auto meta = parse_package_metadata(file->metadata_json(), source + ": metadata");
         meta["model_format_version"] = structure_format_version(structure);
         MbinWriter writer(dest, structure, package_metadata_json(meta), MbinWriteOptions{alignment_log2});
         for (const MbinTensorInfo& info : order) writer.add(info.name, file->view(info));
         writer.finish();
       }},
      {".mithril", [](const std::string& path) { return read_mithril_structure(path); },
       [](const std::string& source, const std::string& dest, const std::string& structure) {
         replace_mithril_structure(source, dest, structure);  // parameters copied, CRC-checked
       }},
  };
  return table;
}

const ContainerAdapter& adapter_for(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (const ContainerAdapter& a : adapters())
    if (ext == a.extension) return a;
  return adapters().front();  // anything else is read as structure JSON
}

bool is_model_file_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;  // hidden and AtomicFile temporaries
  std::string ext = fs::path(name).extension().string();
  if (is_safetensors_index_path(name)) return false;  // a tensor set's index, not a model dict
  return ext == ".json" || ext == ".mbin" || ext == ".mithril";
}

// Copies a file atomically, streaming (for backups of large containers).
void copy_file_atomic(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, from + ": cannot open for reading");
  AtomicFile out(to);
  struct stat st;  // a backup is as private as the original
  if (::stat(from.c_str(), &st) == 0) ::fchmod(out.fd(), st.st_mode & 07777);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) out.write(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(ErrorKind::io, from + ": read error");
  out.commit();
}

void add_folder(const fs::path& root, std::vector<FoundFile>& out) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) throw Error(ErrorKind::io, root.string() + ": cannot list folder: " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error(ErrorKind::io, root.string() + ": cannot list folder: " + ec.message());
    std::string name = it->path().filename().string();
    if (it->is_directory()) {
      if (!name.empty() && name[0] == '.') it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || !is_model_file_name(name)) continue;
    out.push_back({it->path().string(), it->path().lexically_relative(root).generic_string(), false});
  }
}

void add_path(const std::string& arg, std::vector<FoundFile>& out) {
  std::error_code ec;
  fs::file_status st = fs::status(arg, ec);
  if (fs::is_directory(st)) return add_folder(arg, out);
  if (fs::exists(st)) {
    out.push_back({arg, fs::path(arg).filename().string(), true});
    return;
  }
  if (arg.find_first_of("*?[") != std::string::npos) {
    glob_t g{};
    int rc = ::glob(arg.c_str(), 0, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0)
      for (std::size_t i = 0; i < g.gl_pathc; ++i) matches.push_back(g.gl_pathv[i]);
    globfree(&g);
    if (matches.empty()) throw Error(ErrorKind::io, arg + ": the pattern matches no file");
    for (const std::string& m : matches) {
      if (fs::is_directory(m)) add_folder(m, out);
      else out.push_back({m, fs::path(m).filename().string(), false});
    }
    return;
  }
  throw Error(ErrorKind::io, arg + ": no such file or folder");
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Every model dict of every version has "name" (Python Mithril's) or "version" (ours, which has
// "name" too). A JSON object with neither is something else kept beside models: a config, inputs.
// Anything else (not JSON, not an object) might be a damaged model, and fails.
bool could_be_model_dict(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return true;
  return doc.HasMember("name") || doc.HasMember("version");
}

bool excluded(const FoundFile& f, const std::vector<std::string>& patterns) {
  std::string name = fs::path(f.path).filename().string();
  for (const std::string& p : patterns)
    if (fnmatch(p.c_str(), f.relative.c_str(), 0) == 0 || fnmatch(p.c_str(), name.c_str(), 0) == 0 ||
        fnmatch(p.c_str(), f.path.c_str(), 0) == 0)
      return true;
  return false;
}

void process(const MigrateOptions& options, const versioning::FormatHistory& history, FileResult& r, bool named) {
  try {
    const ContainerAdapter& adapter = adapter_for(r.path);
    std::string text = adapter.read_structure(r.path);
    if (!named && &adapter == &adapters().front() && !could_be_model_dict(text)) {
      r.status = FileStatus::skipped;
      r.note = "a JSON object without \"name\" or \"version\": not a model dict of any version (e.g. a config or inputs file)";
      return;
    }
    // A tensor-only .mbin has no structure, so nothing that versions: it is as current as can be.
    bool tensors_only = text.empty() && std::string(adapter.extension) == ".mbin";
    r.from_version = tensors_only ? options.target : versioning::detect_format_version(text, r.path);
    bool in_place = options.output_dir.empty();
    r.output = in_place ? r.path : (fs::path(options.output_dir) / r.relative).string();
    if (r.from_version == options.target) {
      r.status = FileStatus::up_to_date;
      // The output tree mirrors the input tree: files already at the target are copied as they are.
      if (!in_place && options.mode == MigrateMode::write) {
        fs::create_directories(fs::path(r.output).parent_path());
        AtomicWriteGroup group({options.force});
        copy_file_atomic(r.path, r.output);
        group.commit();
      }
      return;
    }
    std::string migrated;
    try {
      migrated = versioning::update_model_dict_version(history, text, options.target, r.path);
    } catch (const Error& e) {
      throw missing_version_hint(text, r.path, e);
    }
    if (options.mode != MigrateMode::write) {
      r.status = FileStatus::needs_migration;
      if (options.mode == MigrateMode::dry_run) r.new_text = std::move(migrated);
      return;
    }
    // The backup and the new file replace their destinations together, after both were written
    // (an .mbin's tensors are checksum-checked while they are copied: corruption is refused here).
    AtomicWriteGroup group({options.force});
    if (in_place) {
      if (options.backup) copy_file_atomic(r.path, r.path + ".bak");
    } else {
      std::error_code ec;
      fs::create_directories(fs::path(r.output).parent_path(), ec);
      if (ec) throw Error(ErrorKind::io, r.output + ": cannot create its folder: " + ec.message());
    }
    adapter.write(r.path, r.output, migrated);
    group.commit();
    r.status = FileStatus::migrated;
  } catch (const std::bad_alloc&) {
    r.status = FileStatus::failed;
    r.error = r.path + ": out of memory";
  } catch (const std::exception& e) {
    r.status = FileStatus::failed;
    r.error = e.what();
    if (r.error.rfind(r.path, 0) != 0) r.error = r.path + ": " + r.error;
  }
}

}  // namespace

const char* file_status_name(FileStatus status) {
  switch (status) {
    case FileStatus::migrated: return "migrated";
    case FileStatus::up_to_date: return "up-to-date";
    case FileStatus::needs_migration: return "needs-migration";
    case FileStatus::failed: return "failed";
    case FileStatus::skipped: return "skipped";
  }
  return "failed";
}

std::vector<FoundFile> find_model_files(const std::vector<std::string>& paths, std::istream* path_list) {
  std::vector<FoundFile> out;
  for (const std::string& arg : paths) {
    if (arg != "-") {
      add_path(arg, out);
      continue;
    }
    if (!path_list) throw Error(ErrorKind::invalid_argument, "'-' given but no list of paths to read");
    std::string line;
    while (std::getline(*path_list, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) add_path(line, out);
    }
  }
  std::sort(out.begin(), out.end(), [](const FoundFile& a, const FoundFile& b) { return a.path < b.path; });
  // The same file under two spellings (a.json, ./a.json, a link to it) is one file: migrating it
  // twice could race, and the second backup would hold the migrated text.
  std::set<std::string> seen;
  std::vector<FoundFile> unique;
  for (FoundFile& f : out) {
    std::error_code ec;
    fs::path resolved = fs::weakly_canonical(f.path, ec);
    if (seen.insert(ec ? f.path : resolved.string()).second) unique.push_back(std::move(f));
  }
  return unique;
}

bool in_shard(const std::string& relative, int shard_index, int shard_count) {
  return fnv1a(relative) % static_cast<uint64_t>(shard_count) == static_cast<uint64_t>(shard_index);
}

std::string migrate_text(const std::string& text, const std::string& target, const std::string& path,
                         const versioning::FormatHistory* history) {
  return versioning::update_model_dict_version(history ? *history : versioning::format_history(), text, target, path);
}

MigrateReport migrate_files(const MigrateOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count)
    throw Error(ErrorKind::invalid_argument, fmt::format("--shard {}/{}: expected K/N with 0 <= K < N", options.shard_index,
                                                         options.shard_count));
  if (options.jobs < 1 || options.jobs > 256)
    throw Error(ErrorKind::invalid_argument, fmt::format("--jobs {}: expected 1..256", options.jobs));
  const versioning::FormatHistory& history = options.history ? *options.history : versioning::format_history();
  if (std::find(history.versions.begin(), history.versions.end(), options.target) == history.versions.end())
    throw Error(ErrorKind::invalid_argument, fmt::format("--to {}: unknown format version (known: {})", options.target,
                                                         fmt::join(history.versions, ", ")));
  auto start = std::chrono::steady_clock::now();
  std::vector<FoundFile> found = find_model_files(options.paths, options.path_list);
  if (!options.exclude.empty())
    found.erase(std::remove_if(found.begin(), found.end(), [&](const FoundFile& f) { return excluded(f, options.exclude); }),
                found.end());
  if (!options.output_dir.empty() && options.mode == MigrateMode::write) {
    // Files from different folders can share a relative path: one output would silently replace
    // the other (and under --jobs both are written at once). Checked over every file found, not
    // just this shard's, so that shards split by index cannot hide a collision from each other;
    // refused before anything is written.
    std::map<std::string, const FoundFile*> by_output;
    for (const FoundFile& f : found) {
      auto [it, fresh] = by_output.emplace(f.relative, &f);
      if (!fresh)
        throw Error(ErrorKind::invalid_argument,
                    fmt::format("--output-dir: {} and {} would both be written to {}", it->second->path, f.path,
                                (fs::path(options.output_dir) / f.relative).string()));
    }
  }
  std::vector<bool> named;  // parallel to report.files
  MigrateReport report;
  report.target = options.target;
  report.mode = options.mode;
  for (std::size_t i = 0; i < found.size(); ++i) {
    bool mine = options.shard_by_index ? static_cast<int>(i % static_cast<std::size_t>(options.shard_count)) == options.shard_index
                                       : in_shard(found[i].relative, options.shard_index, options.shard_count);
    if (!mine) continue;
    FileResult r;
    r.path = found[i].path;
    r.relative = found[i].relative;
    report.files.push_back(std::move(r));
    named.push_back(found[i].named);
  }
  std::atomic<std::size_t> next{0};
  std::size_t done = 0;
  std::mutex mutex;
  auto worker = [&] {
    for (std::size_t i; (i = next++) < report.files.size();) {
      process(options, history, report.files[i], named[i]);
      if (options.on_progress) {
        std::lock_guard<std::mutex> lock(mutex);
        options.on_progress(report.files[i], ++done, report.files.size());
      }
    }
  };
  int threads = std::min<int>(options.jobs, static_cast<int>(std::max<std::size_t>(report.files.size(), 1)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  for (const FileResult& r : report.files) {
    switch (r.status) {
      case FileStatus::migrated: ++report.migrated; break;
      case FileStatus::up_to_date: ++report.up_to_date; break;
      case FileStatus::needs_migration: ++report.needs_migration; break;
      case FileStatus::failed: ++report.failed; break;
      case FileStatus::skipped: ++report.skipped; break;
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

int MigrateReport::exit_code() const {
  if (failed > 0) return kExitInputError;
  if (mode == MigrateMode::check && needs_migration > 0) return kExitCheckFailed;
  return kExitOk;
}

std::string MigrateReport::summary() const {
  std::size_t total = files.size();
  double rate = seconds > 0 ? static_cast<double>(total) / seconds : 0;
  std::string timing = fmt::format("{} file{}, {:.2f} s, {:.1f} files/s", total, total == 1 ? "" : "s", seconds, rate);
  if (total == 0) return "no model files found";
  if (failed == 0 && migrated == 0 && needs_migration == 0)
    return skipped ? fmt::format("nothing to do: all {} model files are already at format {}, {} skipped (not model dicts) ({:.2f} s)",
                                 total - skipped, target, skipped, seconds)
                   : fmt::format("nothing to do: all {} files are already at format {} ({:.2f} s)", total, target, seconds);
  std::vector<std::string> parts;
  if (mode == MigrateMode::write) parts.push_back(fmt::format("{} migrated to {}", migrated, target));
  else if (mode == MigrateMode::check) parts.push_back(fmt::format("{} not at {}", needs_migration, target));
  else parts.push_back(fmt::format("{} would be migrated to {}", needs_migration, target));
  parts.push_back(fmt::format("{} already at {}", up_to_date, target));
  parts.push_back(fmt::format("{} failed", failed));
  if (skipped) parts.push_back(fmt::format("{} skipped (not model dicts)", skipped));
  return fmt::format("{} ({})", fmt::join(parts, ", "), timing);
}

std::string MigrateReport::to_json() const {
  JsonOut j;
  j.begin_object().key("target").str(target);
  j.key("mode").str(mode == MigrateMode::write ? "write" : mode == MigrateMode::check ? "check" : "dry-run");
  j.key("counts").begin_object().key("files").unum(files.size()).key("migrated").unum(migrated);
  j.key("up_to_date").unum(up_to_date).key("needs_migration").unum(needs_migration).key("failed").unum(failed);
  j.key("skipped").unum(skipped).end_object();
  j.key("seconds").real(seconds).key("files_per_second").real(seconds > 0 ? static_cast<double>(files.size()) / seconds : 0);
  j.key("exit_code").num(exit_code());
  j.key("files").begin_array();
  for (const FileResult& r : files) {
    j.begin_object().key("path").str(r.path).key("status").str(file_status_name(r.status));
    if (!r.from_version.empty()) j.key("from").str(r.from_version);
    if (!r.output.empty() && r.status != FileStatus::failed) j.key("output").str(r.output);
    if (!r.error.empty()) j.key("error").str(r.error);
    if (!r.note.empty()) j.key("note").str(r.note);
    if (!r.new_text.empty()) j.key("new_text").str(r.new_text);
    j.end_object();
  }
  j.end_array().end_object();
  return j.text();
}

void print_migrate_report(const MigrateReport& report, bool verbose, std::ostream& out, std::ostream& err) {
  for (const FileResult& r : report.files) {
    if (r.status == FileStatus::failed) err << "mithril-migrate: error: " << r.error << "\n";
    if (r.status == FileStatus::skipped && verbose) err << "mithril-migrate: skipped " << r.path << ": " << r.note << "\n";
    if (r.status != FileStatus::needs_migration) continue;
    if (report.mode == MigrateMode::check) out << r.path << ": at " << r.from_version << ", not " << report.target << "\n";
    else out << "=== " << r.path << " (" << r.from_version << " -> " << report.target << ")\n" << r.new_text;
  }
}

Shard parse_shard(const std::string& text) {
  auto number = [&](std::string_view part) {
    int value = -1;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size() || value < 0) return -1;
    return value;
  };
  std::size_t slash = text.find('/');
  Shard shard{-1, -1};
  if (slash != std::string::npos) {
    shard.index = number(std::string_view(text).substr(0, slash));
    shard.count = number(std::string_view(text).substr(slash + 1));
  }
  if (shard.index < 0 || shard.count < 1 || shard.index >= shard.count)
    throw Error(ErrorKind::invalid_argument, "--shard " + text + ": expected K/N with 0 <= K < N, e.g. 0/4");
  return shard;
}

}  // namespace mithril::tools
