// Benchmark helper for scripts/bench-mbin: writes the .mbin files and times one way of loading
// parameters, inside this process (so the time excludes exec and dynamic loading, like the Python
// baselines exclude `import`). Built only with -DMITHRIL_BUILD_BENCHMARKS=ON.
//
//   mbin_load write NPZ MBIN         read_npz(NPZ), then write_mbin(MBIN) with the same tensors
//   mbin_load check NPZ MBIN         MbinFile::verify() and every tensor bitwise equal to read_npz(NPZ)
//   mbin_load time MODE FILE [REPS]  runs MODE REPS times (default 1); one line per rep: seconds
//
// MODE (FILE is the .mbin except for npz):
//   open            MbinFile::open (maps, validates preamble, index checksum and every record)
//   touch           open without checksum checks + read one byte in every 4 KiB page of every tensor view
//                   (mapped materialization, what --no-verify pays)
//   view-checked    open + view() of every tensor, each checksum checked (XXH3 over every byte): what the
//                   tools pay by default on the zero-copy path
//   eager           open + load_all() (one owned copy per tensor, hashed while copied: the default)
//   eager-unchecked open without checksum checks + load_all() (--no-verify)
//   npz             read_npz(FILE) (our .npz reader: owned tensors, CRC-32 checked)
//   pt              read_torch_file(FILE) (our .pt reader on the torch.save file: owned tensors, CRC-32 checked)
//   st-open         read_safetensors(FILE): map, parse and check the header; tensors are views (zero-copy)
//   st-touch        st-open + read one byte in every 4 KiB page of every view (mapped materialization)
//   st-eager        st-open + an owned copy of every tensor
//   memcpy-fresh    open(2) + fstat + mmap the file + memcpy all its bytes into ONE new malloc'd buffer
//                   (not touched before: the copy pays its page faults). The floor of an eager load.
//   memcpy-populate the same, with madvise(MADV_POPULATE_WRITE) on the destination first (the floor of what
//                   load() does since it prefaults: the same technique applied to one plain buffer)
//   memcpy-warm     the same, but the destination was allocated and written (faulted in) before the clock
//                   starts: the memory-bandwidth floor, not reachable by a loader that returns new memory
//   eager-plain     eager as load() did before it prefaulted (madvise(MADV_POPULATE_WRITE)) each destination:
//                   allocate + memcpy, one page fault per 4 KiB page during the copy
//   eager-thp       what-if: eager-plain with madvise(MADV_HUGEPAGE) on the 2 MiB-aligned part of each
//                   destination before the memcpy (what numpy does for arrays of 4 MiB and more)
//   memcpy-thp      what-if: memcpy-fresh with a 2 MiB-aligned MADV_HUGEPAGE destination
// Results are kept alive until after the clock stops (deallocation is not timed, as in the Python
// baselines, whose dicts live until the process exits).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "io/mbin.h"
#include "io/npz.h"
#include "io/safetensors.h"
#include "io/torch_file.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kPage = 4096;
constexpr std::size_t kHuge = std::size_t{2} << 20;

volatile uint64_t g_sink = 0;  // defeats dead-code elimination of the touch loops

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "mbin_load: %s\n", msg.c_str());
  std::exit(2);
}

// Reads one byte in every page spanned by [p, p + n).
uint64_t touch_pages(const unsigned char* p, std::size_t n) {
  uint64_t s = 0;
  if (n == 0) return 0;
  for (std::size_t i = 0; i < n; i += kPage) s += p[i];
  return s + p[n - 1];
}

// Owned raw memory freed with free() or munmap().
struct Buffer {
  void* p = nullptr;
  std::size_t mapped = 0;  // 0: malloc'd
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : p(o.p), mapped(o.mapped) { o.p = nullptr; }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      release();
      p = o.p;
      mapped = o.mapped;
      o.p = nullptr;
    }
    return *this;
  }
  ~Buffer() { release(); }
  void release() {
    if (p && mapped) munmap(p, mapped);
    else if (p) std::free(p);
    p = nullptr;
  }
};

Buffer malloc_buffer(std::size_t n) {
  Buffer b;
  b.p = std::aligned_alloc(64, (n + 63) / 64 * 64 + 64);
  if (!b.p) die("out of memory");
  return b;
}

// 2 MiB-aligned anonymous memory advised for transparent huge pages (THP is in "madvise" mode on Debian).
Buffer thp_buffer(std::size_t n) {
  std::size_t len = (n + kHuge - 1) / kHuge * kHuge;
  void* raw = mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) die("mmap failed");
  auto a = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (a + kHuge - 1) / kHuge * kHuge;
  if (aligned > a) munmap(raw, aligned - a);
  uintptr_t end = a + len + kHuge;
  if (end > aligned + len) munmap(reinterpret_cast<void*>(aligned + len), end - (aligned + len));
  madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);
  Buffer b;
  b.p = reinterpret_cast<void*>(aligned);
  b.mapped = len;
  return b;
}

// A plain read-only mapping of a whole file (what memcpy-* copy from).
struct FileMap {
  const unsigned char* p = nullptr;
  std::size_t n = 0;
  explicit FileMap(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("cannot open " + path);
    struct stat st;
    if (fstat(fd, &st) != 0) die("cannot stat " + path);
    n = static_cast<std::size_t>(st.st_size);
    void* a = mmap(nullptr, n, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (a == MAP_FAILED) die("cannot map " + path);
    p = static_cast<const unsigned char*>(a);
  }
  ~FileMap() { munmap(const_cast<unsigned char*>(p), n); }
  FileMap(const FileMap&) = delete;
  FileMap& operator=(const FileMap&) = delete;
};

std::size_t file_size(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) die("cannot stat " + path);
  return static_cast<std::size_t>(st.st_size);
}

// Everything a timed run produced, destroyed after the clock stops.
struct Keep {
  std::shared_ptr<const mithril::MbinFile> file;
  std::vector<std::pair<std::string, mithril::Tensor>> tensors;
  std::vector<Buffer> buffers;
  std::unique_ptr<FileMap> map;
};

double time_once(const std::string& mode, const std::string& path, Keep& keep) {
  using namespace mithril;
  // Set-up that is not part of what is measured.
  Buffer warm;
  std::size_t warm_size = 0;
  if (mode == "memcpy-warm") {
    warm_size = file_size(path);
    warm = malloc_buffer(warm_size);
    std::memset(warm.p, 1, warm_size);
  }

  auto t0 = Clock::now();
  if (mode == "open") {
    keep.file = MbinFile::open(path);
  } else if (mode == "touch") {
    MbinOpenOptions unchecked;
    unchecked.check_tensors = false;
    keep.file = MbinFile::open(path, unchecked);
    uint64_t s = 0;
    for (const auto& info : keep.file->tensors()) {
      Tensor v = keep.file->view(info);
      s += touch_pages(static_cast<const unsigned char*>(v.data()), v.nbytes());
    }
    g_sink = g_sink + s;
  } else if (mode == "view-checked") {
    keep.file = MbinFile::open(path);
    for (const auto& info : keep.file->tensors()) keep.tensors.emplace_back(info.name, keep.file->view(info));
  } else if (mode == "eager") {
    keep.file = MbinFile::open(path);
    keep.tensors = keep.file->load_all();
  } else if (mode == "eager-unchecked") {
    MbinOpenOptions unchecked;
    unchecked.check_tensors = false;
    keep.file = MbinFile::open(path, unchecked);
    keep.tensors = keep.file->load_all();
  } else if (mode == "npz") {
    keep.tensors = read_npz(path);
  } else if (mode == "pt") {
    keep.tensors = read_torch_file(path).tensors;
  } else if (mode == "st-open" || mode == "st-touch" || mode == "st-eager") {
    keep.tensors = read_safetensors(path).tensors;
    uint64_t s = 0;
    for (auto& [name, t] : keep.tensors) {
      if (mode == "st-touch") s += touch_pages(static_cast<const unsigned char*>(t.data()), t.nbytes());
      if (mode == "st-eager") t = t.copy();
    }
    g_sink = g_sink + s;
  } else if (mode == "memcpy-fresh" || mode == "memcpy-warm" || mode == "memcpy-thp" || mode == "memcpy-populate") {
    keep.map = std::make_unique<FileMap>(path);
    Buffer dst = mode == "memcpy-warm" ? std::move(warm) : mode == "memcpy-thp" ? thp_buffer(keep.map->n)
                                                                                : malloc_buffer(keep.map->n);
    if (mode == "memcpy-populate") {
      auto a = (reinterpret_cast<uintptr_t>(dst.p) + kPage - 1) / kPage * kPage;
      auto b = (reinterpret_cast<uintptr_t>(dst.p) + keep.map->n) / kPage * kPage;
      if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_POPULATE_WRITE);
    }
    std::memcpy(dst.p, keep.map->p, keep.map->n);
    keep.buffers.push_back(std::move(dst));
  } else if (mode == "eager-thp" || mode == "eager-plain") {
    // eager-plain: what load() did before it prefaulted its destination (malloc + memcpy);
    // eager-thp: what it would do with madvise(MADV_HUGEPAGE) on the destination before the memcpy.
    keep.file = MbinFile::open(path);
    const bool thp = mode == "eager-thp";
    for (const auto& info : keep.file->tensors()) {
      Tensor t = Tensor::uninitialized(info.dtype, info.shape);
      auto* dst = static_cast<unsigned char*>(t.mutable_data());
      if (thp) {
        auto a = (reinterpret_cast<uintptr_t>(dst) + kHuge - 1) / kHuge * kHuge;
        auto b = (reinterpret_cast<uintptr_t>(dst) + info.nbytes) / kHuge * kHuge;
        if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_HUGEPAGE);
      }
      std::memcpy(dst, keep.file->mapped_data() + info.offset, info.nbytes);
      keep.tensors.emplace_back(info.name, std::move(t));
    }
  } else {
    die("unknown mode '" + mode + "'");
  }
  auto t1 = Clock::now();
  // Cheap sanity check outside the clock: the copies hold data.
  for (const auto& b : keep.buffers) g_sink = g_sink + static_cast<const unsigned char*>(b.p)[0];
  for (const auto& [name, t] : keep.tensors) g_sink = g_sink + static_cast<const unsigned char*>(t.data())[0];
  return std::chrono::duration<double>(t1 - t0).count();
}

int cmd_write(const std::string& npz, const std::string& mbin) {
  auto tensors = mithril::read_npz(npz);
  mithril::write_mbin(mbin, "{}", "{}", tensors);
  return 0;
}

int cmd_check(const std::string& npz, const std::string& mbin) {
  auto from_npz = mithril::read_npz(npz);
  auto file = mithril::MbinFile::open(mbin);
  file->verify();
  if (file->tensors().size() != from_npz.size()) die("tensor counts differ");
  uint64_t bytes = 0;
  for (const auto& [name, t] : from_npz) {
    if (!file->find(name)) die("no tensor '" + name + "' in " + mbin);
    if (!file->view(name).bitwise_equal(t)) die("tensor '" + name + "' differs");
    bytes += t.nbytes();
  }
  std::printf("%zu tensors, %llu payload bytes, identical in %s and %s\n", from_npz.size(),
              static_cast<unsigned long long>(bytes), npz.c_str(), mbin.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 3 && args[0] == "write") return cmd_write(args[1], args[2]);
    if (args.size() == 3 && args[0] == "check") return cmd_check(args[1], args[2]);
    if ((args.size() == 3 || args.size() == 4) && args[0] == "time") {
      int reps = args.size() == 4 ? std::atoi(args[3].c_str()) : 1;
      if (reps < 1) die("REPS must be >= 1");
      for (int r = 0; r < reps; ++r) {
        Keep keep;
        double s = time_once(args[1], args[2], keep);
        std::printf("%.9f\n", s);
      }
      return 0;
    }
  } catch (const std::exception& e) {
    die(e.what());
  }
  std::fprintf(stderr,
               "usage: mbin_load write NPZ MBIN | check NPZ MBIN | time MODE FILE [REPS]\n"
               "MODE: open touch view-checked eager eager-unchecked npz pt st-open st-touch st-eager memcpy-fresh memcpy-populate memcpy-warm eager-plain eager-thp memcpy-thp\n");
  return 2;
}
