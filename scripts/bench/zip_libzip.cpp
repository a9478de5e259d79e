// Our zip container (lib/io/zip.*) next to libzip 1.7.3 (Debian 12's libzip-dev), on the same
// archive: 8 stored members of SIZE MiB in total, as .npz and .mithril hold them. Times writing
// and reading every member's bytes (CRC-checked by both), and checks, by experiment, what the
// readers and writers of .npz/.mithril need: deterministic bytes, members aligned for zero-copy
// mapping, a member's bytes without a copy, and the refusal of a crafted directory before any
// allocation it sizes. Prints markdown. Run by scripts/bench-zip; the decision it supports is
// recorded in the README ("The zip container").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/mapped_file.h"
#include "io/zip.h"

using namespace mithril;

namespace {

constexpr int kMembers = 8;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::vector<std::string> make_members(std::size_t total) {
  std::vector<std::string> members;
  uint64_t state = 42;
  for (int m = 0; m < kMembers; ++m) {
    std::string bytes(total / kMembers, '\0');
    for (std::size_t i = 0; i < bytes.size(); i += 8) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      std::memcpy(&bytes[i], &state, std::min<std::size_t>(8, bytes.size() - i));
    }
    members.push_back(std::move(bytes));
  }
  return members;
}

std::string member_name(int m) { return fmt::format("w{}.npy", m); }

void write_ours(const std::string& path, const std::vector<std::string>& members) {
  AtomicFile file(path);
  ZipWriter zip(file);
  for (int m = 0; m < kMembers; ++m) zip.add(member_name(m), {members[m]}, false, 64);
  zip.finish();
  file.commit();
}

void write_libzip(const std::string& path, const std::vector<std::string>& members) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!z) throw Error(ErrorKind::io, "libzip: cannot create " + path);
  for (int m = 0; m < kMembers; ++m) {
    zip_source_t* src = zip_source_buffer(z, members[m].data(), members[m].size(), 0);
    zip_int64_t index = zip_file_add(z, member_name(m).c_str(), src, ZIP_FL_ENC_UTF_8);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
    zip_file_set_mtime(z, static_cast<zip_uint64_t>(index), 315532800, 0);  // fixed, as ours
  }
  if (zip_close(z) != 0) throw Error(ErrorKind::io, "libzip: cannot write " + path);
  fsync_path(path);  // ours fsyncs before its rename; so must the comparison
}

// Every member's bytes in memory, CRC-checked: ours copies through ZipMemberReader.
std::size_t read_ours_copy(const std::string& path, std::vector<char>& buffer) {
  FileBytes bytes(path);
  std::size_t total = 0;
  for (const ZipEntry& e : read_zip_directory(bytes.data(), bytes.size(), path)) {
    ZipMemberReader r(bytes.data(), e, path);
    buffer.resize(e.uncompressed_size);
    r.read(buffer.data(), buffer.size());
    r.finish();
    total += buffer.size();
  }
  return total;
}

// Ours without a copy: the member's bytes are used in place in the mapping (the CRC pass is what
// touches them), as .mithril's zero-copy open and the checksummed tensor views do.
std::size_t read_ours_in_place(const std::string& path) {
  FileBytes bytes(path);
  std::size_t total = 0;
  for (const ZipEntry& e : read_zip_directory(bytes.data(), bytes.size(), path)) {
    ZipMemberReader r(bytes.data(), e, path);
    r.finish();  // skips through the data, checking size and CRC-32
    total += e.uncompressed_size;
  }
  return total;
}

std::size_t read_libzip(const std::string& path, std::vector<char>& buffer) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!z) throw Error(ErrorKind::format, "libzip: cannot open " + path);
  std::size_t total = 0;
  zip_int64_t n = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st);
    buffer.resize(st.size);
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    zip_int64_t got = zip_fread(f, buffer.data(), st.size);
    char probe;
    zip_int64_t end = zip_fread(f, &probe, 1);  // reaching the end is where libzip checks the CRC
    zip_fclose(f);
    if (got != static_cast<zip_int64_t>(st.size) || end != 0) throw Error(ErrorKind::format, "libzip: short or bad member");
    total += buffer.size();
  }
  zip_close(z);
  return total;
}

template <class F>
double best_of(int runs, F&& f) {
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

// An end record (22 bytes, no members present) whose central directory claims 65,535 members in
// 4 GiB: a reader that sizes its tables by these fields before checking them allocates for them.
std::string crafted_directory() {
  const unsigned char end_record[22] = {'P', 'K', 5, 6, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
                                        0x00, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(end_record), sizeof end_record);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mib = argc > 1 ? static_cast<std::size_t>(std::atol(argv[1])) : 400;
  std::string dir = argc > 2 ? argv[2] : "/tmp";
  int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  std::string ours = dir + "/bench-zip-ours.npz", theirs = dir + "/bench-zip-libzip.npz";
  auto members = make_members(mib << 20);
  std::vector<char> buffer;

  double write_o = best_of(runs, [&] { write_ours(ours, members); });
  double write_l = best_of(runs, [&] { write_libzip(theirs, members); });
  double read_o = best_of(runs, [&] { read_ours_copy(ours, buffer); });
  double read_p = best_of(runs, [&] { read_ours_in_place(ours); });
  double read_l = best_of(runs, [&] { read_libzip(theirs, buffer); });
  // Each reads the other's archive (every byte and CRC).
  std::size_t total_bytes = (mib << 20) / kMembers * kMembers;
  bool libzip_reads_ours = read_libzip(ours, buffer) == total_bytes;
  bool ours_reads_libzip = read_ours_copy(theirs, buffer) == total_bytes;

  std::printf("## zip container: ours vs libzip %s, %d stored members, %zu MiB (best of %d)\n\n", zip_libzip_version(), kMembers,
              mib, runs);
  std::printf("| what | ours (s) | libzip (s) | libzip / ours |\n|---|---:|---:|---:|\n");
  std::printf("| write (fsync included for both) | %.3f | %.3f | %.2f |\n", write_o, write_l, write_l / write_o);
  std::printf("| read every member into memory, CRC checked | %.3f | %.3f | %.2f |\n", read_o, read_l, read_l / read_o);
  std::printf("| read in place from the mapping (ours), CRC checked | %.3f | (no API) | %.2f |\n", read_p, read_l / read_p);
  std::printf("\n");

  // Capabilities, by experiment.
  std::string first = read_all(theirs);
  write_libzip(theirs, members);
  bool libzip_deterministic = read_all(theirs) == first;
  std::string ours_first = read_all(ours);
  write_ours(ours, members);
  bool ours_deterministic = read_all(ours) == ours_first;
  FileBytes ob(ours), lb(theirs);
  int ours_aligned = 0, libzip_aligned = 0;
  for (const ZipEntry& e : read_zip_directory(ob.data(), ob.size(), ours)) ours_aligned += e.data_offset % 64 == 0;
  for (const ZipEntry& e : read_zip_directory(lb.data(), lb.size(), theirs)) libzip_aligned += e.data_offset % 64 == 0;
  std::string crafted = crafted_directory();
  std::string crafted_path = dir + "/bench-zip-crafted.zip";
  {
    std::ofstream(crafted_path, std::ios::binary) << crafted;
  }
  std::string ours_verdict, libzip_verdict;
  try {
    read_zip_directory(reinterpret_cast<const unsigned char*>(crafted.data()), crafted.size(), "crafted.zip");
    ours_verdict = "accepted";
  } catch (const Error& e) {
    ours_verdict = std::string("refused: ") + e.what();
  }
  int err = 0;
  zip_t* z = zip_open(crafted_path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (z) {
    libzip_verdict = "opened";
    zip_close(z);
  } else {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    libzip_verdict = std::string("refused: ") + zip_error_strerror(&e);
    zip_error_fini(&e);
  }
  std::printf("| capability | ours | libzip |\n|---|---|---|\n");
  std::printf("| reads the other's archive (all bytes, CRC checked) | %s | %s |\n", ours_reads_libzip ? "yes" : "NO",
              libzip_reads_ours ? "yes" : "NO");
  std::printf("| same bytes when written twice | %s | %s (mtime fixed with zip_file_set_mtime) |\n", ours_deterministic ? "yes" : "NO",
              libzip_deterministic ? "yes" : "NO");
  std::printf("| members whose data start at a 64-byte boundary (for zero-copy tensors) | %d of %d | %d of %d (no alignment API) |\n",
              ours_aligned, kMembers, libzip_aligned, kMembers);
  std::printf("| a member's bytes without a copy | yes (pointer into the mapping) | no (zip_fread copies; no data offset API) |\n");
  std::printf("| crafted directory (65,535 members claimed in %zu bytes) | %s | %s |\n", crafted.size(), ours_verdict.c_str(),
              libzip_verdict.c_str());
  std::remove(ours.c_str());
  std::remove(theirs.c_str());
  std::remove(crafted_path.c_str());
  return 0;
}
