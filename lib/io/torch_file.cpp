#include "io/torch_file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/bytes.h"
#include "io/npy.h"
#include "io/zip.h"

namespace mithril {
namespace {

// ---------------------------------------------------------------------------------------------
// Dtypes: torch's typed storage classes (torch 1.13 torch/storage.py).

struct StorageType {
  const char* name;  // class name in module "torch"
  DType dtype;
};

constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", DType::float32},       {"DoubleStorage", DType::float64},
    {"HalfStorage", DType::float16},        {"BFloat16Storage", DType::bfloat16},
    {"LongStorage", DType::int64},          {"IntStorage", DType::int32},
    {"ShortStorage", DType::int16},         {"CharStorage", DType::int8},
    {"ByteStorage", DType::uint8},          {"BoolStorage", DType::bool_},
    {"ComplexFloatStorage", DType::complex64}, {"ComplexDoubleStorage", DType::complex128},
};

const StorageType* storage_type_by_name(std::string_view name) {
  for (const StorageType& t : kStorageTypes)
    if (name == t.name) return &t;
  return nullptr;
}

const StorageType* storage_type_of(DType dtype) {
  for (const StorageType& t : kStorageTypes)
    if (t.dtype == dtype) return &t;
  return nullptr;
}

// Pickle opcodes (Python's Lib/pickle.py names).
namespace op {
constexpr unsigned char MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', BININT = 'J', BININT1 = 'K',
                        BININT2 = 'M', NONE = 'N', BINPERSID = 'Q', REDUCE = 'R', BINSTRING = 'T', SHORT_BINSTRING = 'U',
                        BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c', DICT = 'd', EMPTY_DICT = '}',
                        APPENDS = 'e', BINGET = 'h', LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']', BINPUT = 'q',
                        LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
                        BINBYTES = 'B', SHORT_BINBYTES = 'C', PROTO = 0x80, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87,
                        NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d,
                        STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95;
}  // namespace op

// Legacy torch.save (pre-1.6) starts with PROTO 2 and LONG1 of this 10-byte magic number.
constexpr unsigned char kLegacyMagic[] = {op::PROTO, 2, op::LONG1, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

// ---------------------------------------------------------------------------------------------
// The objects the unpickler builds. All live in one arena owned by the unpickler, so references
// between them (the memo can make cycles) never leak and never dangle.

enum class Kind { none, boolean, integer, floating, string, bytes, tuple, list, dict, global, storage, tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::none: return "None";
    case Kind::boolean: return "a bool";
    case Kind::integer: return "an int";
    case Kind::floating: return "a float";
    case Kind::string: return "a string";
    case Kind::bytes: return "bytes";
    case Kind::tuple: return "a tuple";
    case Kind::list: return "a list";
    case Kind::dict: return "a dict";
    case Kind::global: return "a global";
    case Kind::storage: return "a storage";
    case Kind::tensor: return "a tensor";
  }
  return "?";
}

struct Obj {
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double floating = 0;
  std::string text;                            // string, bytes, global "module.name", storage key
  std::vector<Obj*> items;                     // tuple, list
  std::vector<std::pair<Obj*, Obj*>> entries;  // dict, in insertion order
  const StorageType* storage_type = nullptr;   // storage
  int64_t storage_numel = 0;
  std::optional<Tensor> tensor;  // (a default Tensor would allocate)
};

// The storages of one file, read from their members on first use (CRC checked).
class Storages {
 public:
  Storages(const unsigned char* archive, const std::vector<ZipEntry>& entries, std::string prefix, std::string context)
      : archive_(archive), prefix_(std::move(prefix)), context_(std::move(context)) {
    for (const ZipEntry& e : entries) by_name_[e.name] = &e;
  }

  // The storage `key` as a 1-d tensor of `numel` elements of `type`.
  const Tensor& get(const std::string& key, const StorageType& type, int64_t numel) {
    auto it = loaded_.find(key);
    if (it != loaded_.end()) {
      if (it->second.dtype() != type.dtype || it->second.numel() != numel)
        throw Error(ErrorKind::format, fmt::format("{}: storage '{}' is used as {} of {} elements and as {} of {}", context_, key,
                                                   dtype_name(it->second.dtype()), it->second.numel(), dtype_name(type.dtype), numel));
      return it->second;
    }
    std::string member = prefix_ + "data/" + key;
    auto found = by_name_.find(member);
    if (found == by_name_.end())
      throw Error(ErrorKind::format, fmt::format("{}: storage '{}' has no member '{}'", context_, key, member));
    const ZipEntry& entry = *found->second;
    std::string where = fmt::format("{}: member '{}'", context_, member);
    uint64_t nbytes = 0;
    if (numel < 0 || __builtin_mul_overflow(static_cast<uint64_t>(numel), static_cast<uint64_t>(dtype_size(type.dtype)), &nbytes) ||
        nbytes != entry.uncompressed_size)
      throw Error(ErrorKind::format, fmt::format("{}: holds {} bytes, the pickle claims {} elements of {} ({})", where,
                                                 entry.uncompressed_size, numel, dtype_name(type.dtype), type.name));
    Tensor t = Tensor::uninitialized(type.dtype, {numel});
    ZipMemberReader reader(archive_, entry, where);
    if (nbytes) reader.read(t.mutable_data(), static_cast<std::size_t>(nbytes));
    reader.finish();
    return loaded_.emplace(key, std::move(t)).first->second;
  }

 private:
  const unsigned char* archive_;
  std::string prefix_;
  std::string context_;
  std::unordered_map<std::string, const ZipEntry*> by_name_;
  std::unordered_map<std::string, Tensor> loaded_;
};

// A stack machine for the pickle subset described in the header.
class Unpickler {
 public:
  Unpickler(std::string_view bytes, Storages& storages, std::string context)
      : in_(bytes, std::move(context)), storages_(storages) {}

  Obj* run() {
    while (true) {
      if (in_.at_end()) fail(ErrorKind::format, "ends without a STOP opcode");
      std::size_t at = in_.offset();
      unsigned char code = byte();
      switch (code) {
        case op::PROTO: {
          unsigned version = byte();
          if (version < 2 || version > 5) fail(ErrorKind::unsupported, fmt::format("pickle protocol {} (expected 2..5)", version));
          break;
        }
        case op::FRAME: take(8); break;  // framing only groups opcodes; the bytes follow inline
        case op::STOP:
          if (stack_.size() != 1 || !marks_.empty()) fail(ErrorKind::format, "STOP with a malformed stack");
          return stack_.back();
        case op::MARK: marks_.push_back(stack_.size()); break;
        case op::POP: pop(); break;
        case op::POP_MARK: pop_mark(); break;
        case op::DUP: push(top()); break;
        case op::NONE: push(make(Kind::none)); break;
        case op::NEWTRUE:
        case op::NEWFALSE: {
          Obj* o = make(Kind::boolean);
          o->boolean = code == op::NEWTRUE;
          push(o);
          break;
        }
        case op::BININT: push(integer(static_cast<int32_t>(le(4)))); break;
        case op::BININT1: push(integer(byte())); break;
        case op::BININT2: push(integer(static_cast<int64_t>(le(2)))); break;
        case op::LONG1: {
          unsigned n = byte();
          if (n > 8) fail(ErrorKind::unsupported, fmt::format("an integer of {} bytes (at most 8 are read)", n));
          uint64_t v = n ? le(n) : 0;
          if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
          push(integer(static_cast<int64_t>(v)));
          break;
        }
        case op::BINFLOAT: {
          uint64_t bits = be(8);
          Obj* o = make(Kind::floating);
          std::memcpy(&o->floating, &bits, 8);
          push(o);
          break;
        }
        case op::SHORT_BINUNICODE: push(string(Kind::string, byte())); break;
        case op::BINUNICODE: push(string(Kind::string, le(4))); break;
        case op::BINUNICODE8: push(string(Kind::string, le(8))); break;
        case op::SHORT_BINSTRING: push(string(Kind::string, byte())); break;
        case op::BINSTRING: push(string(Kind::string, le(4))); break;
        case op::SHORT_BINBYTES: push(string(Kind::bytes, byte())); break;
        case op::BINBYTES: push(string(Kind::bytes, le(4))); break;
        case op::EMPTY_TUPLE: push(make(Kind::tuple)); break;
        case op::TUPLE1:
        case op::TUPLE2:
        case op::TUPLE3: {
          std::size_t n = code - op::TUPLE1 + 1;
          if (stack_.size() < n + base()) fail(ErrorKind::format, "tuple opcode on a stack too short");
          Obj* t = make(Kind::tuple);
          t->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
          stack_.resize(stack_.size() - n);
          push(t);
          break;
        }
        case op::TUPLE: {
          Obj* t = make(Kind::tuple);
          t->items = pop_mark();
          push(t);
          break;
        }
        case op::EMPTY_LIST: push(make(Kind::list)); break;
        case op::LIST: {
          Obj* l = make(Kind::list);
          l->items = pop_mark();
          push(l);
          break;
        }
        case op::EMPTY_DICT: push(make(Kind::dict)); break;
        case op::DICT: {
          Obj* d = make(Kind::dict);
          set_items(d, pop_mark());
          push(d);
          break;
        }
        case op::APPEND: {
          Obj* v = pop();
          expect(top(), Kind::list, "APPEND")->items.push_back(v);
          break;
        }
        case op::APPENDS: {
          std::vector<Obj*> values = pop_mark();
          Obj* l = expect(top(), Kind::list, "APPENDS");
          l->items.insert(l->items.end(), values.begin(), values.end());
          break;
        }
        case op::SETITEM: {
          Obj* v = pop();
          Obj* k = pop();
          set_items(expect(top(), Kind::dict, "SETITEM"), {k, v});
          break;
        }
        case op::SETITEMS: {
          std::vector<Obj*> kv = pop_mark();
          set_items(expect(top(), Kind::dict, "SETITEMS"), kv);
          break;
        }
        case op::BINPUT: memo_[byte()] = top(); break;
        case op::LONG_BINPUT: memo_[le(4)] = top(); break;
        case op::MEMOIZE: memo_[memo_.size()] = top(); break;
        case op::BINGET: push(memo_get(byte())); break;
        case op::LONG_BINGET: push(memo_get(le(4))); break;
        case op::GLOBAL: {
          std::string module = line();
          std::string name = line();
          push(global(module, name));
          break;
        }
        case op::STACK_GLOBAL: {
          Obj* name = expect(pop(), Kind::string, "STACK_GLOBAL");
          Obj* module = expect(pop(), Kind::string, "STACK_GLOBAL");
          push(global(module->text, name->text));
          break;
        }
        case op::BINPERSID: push(persistent_load(pop())); break;
        case op::REDUCE: {
          Obj* args = expect(pop(), Kind::tuple, "REDUCE");
          Obj* callable = expect(pop(), Kind::global, "REDUCE");
          push(call(callable->text, args->items));
          break;
        }
        case op::BUILD: {
          Obj* state = pop();
          Obj* target = top();
          // collections.OrderedDict.__reduce__ passes its instance __dict__ (a state dict's
          // "_metadata": module versions) as state: attributes we do not need.
          if (target->kind != Kind::dict || (state->kind != Kind::dict && state->kind != Kind::none))
            fail(ErrorKind::unsupported, fmt::format("BUILD of {} with {} (only OrderedDict attributes are accepted)",
                                                     kind_name(target->kind), kind_name(state->kind)));
          break;
        }
        default:
          fail(ErrorKind::unsupported, fmt::format("opcode 0x{:02x}{} at byte {} is not in the accepted subset", code,
                                                   code >= 0x20 && code < 0x7f ? fmt::format(" ('{}')", static_cast<char>(code)) : "", at));
      }
    }
  }

 private:
  [[noreturn]] void fail(ErrorKind kind, const std::string& what) const { in_.fail(kind, what); }

  unsigned char byte() {
    if (in_.at_end()) fail(ErrorKind::format, "truncated (an opcode's argument runs past the end)");
    return in_.byte();
  }
  const char* take(uint64_t n) { return in_.take(n).data(); }
  uint64_t le(unsigned n) { return in_.le(n); }
  uint64_t be(unsigned n) { return in_.be(n); }
  std::string line() {
    std::optional<std::string_view> text = in_.until('\n', 256);
    if (!text) fail(ErrorKind::format, "GLOBAL without a newline-terminated name");
    return std::string(*text);
  }

  Obj* make(Kind kind) {
    // One opcode byte can make an object of ~200 bytes: the count is capped, not the file size.
    if (arena_.size() >= kTorchMaxPickleObjects)
      fail(ErrorKind::unsupported, fmt::format("more than {} pickled objects", kTorchMaxPickleObjects));
    arena_.push_back(std::make_unique<Obj>());
    arena_.back()->kind = kind;
    return arena_.back().get();
  }
  Obj* integer(int64_t v) {
    Obj* o = make(Kind::integer);
    o->integer = v;
    return o;
  }
  Obj* string(Kind kind, uint64_t n) {
    const char* p = take(n);  // checked before the string is allocated
    Obj* o = make(kind);
    o->text.assign(p, static_cast<std::size_t>(n));
    return o;
  }

  std::size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Obj* o) { stack_.push_back(o); }
  Obj* top() const {
    if (stack_.size() <= base()) fail(ErrorKind::format, "an opcode needs a value on an empty stack");
    return stack_.back();
  }
  Obj* pop() {
    Obj* o = top();
    stack_.pop_back();
    return o;
  }
  std::vector<Obj*> pop_mark() {
    if (marks_.empty()) fail(ErrorKind::format, "an opcode needs a MARK that is not there");
    std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Obj*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  Obj* memo_get(uint64_t index) const {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail(ErrorKind::format, fmt::format("memo entry {} is read before it is written", index));
    return it->second;
  }
  Obj* expect(Obj* o, Kind kind, const char* what) const {
    if (o->kind != kind) fail(ErrorKind::format, fmt::format("{} expects {}, found {}", what, kind_name(kind), kind_name(o->kind)));
    return o;
  }
  // Keys are kept as given: a key given twice (which torch never writes) surfaces as a duplicate
  // tensor name when the dict is flattened.
  void set_items(Obj* dict, const std::vector<Obj*>& kv) {
    if (kv.size() % 2) fail(ErrorKind::format, "SETITEMS with an odd number of values");
    for (std::size_t i = 0; i < kv.size(); i += 2) dict->entries.emplace_back(kv[i], kv[i + 1]);
  }

  // The allow-list: a global resolves only to these names; anything else stops the reading.
  Obj* global(const std::string& module, const std::string& name) {
    std::string full = module + "." + name;
    bool allowed = full == "collections.OrderedDict" || full == "torch._utils._rebuild_tensor_v2" ||
                   full == "torch._utils._rebuild_parameter" || (module == "torch" && storage_type_by_name(name));
    if (!allowed) {
      std::string hint = module == "torch" && name.size() > 7 && name.compare(name.size() - 7, 7, "Storage") == 0
                             ? " (a storage type Mithril has no dtype for)"
                             : " (only state dicts of tensors are read: save model.state_dict(), not the model)";
      fail(ErrorKind::unsupported, fmt::format("global '{}' is not allowed{}", full, hint));
    }
    Obj* o = make(Kind::global);
    o->text = full;
    return o;
  }

  // ('storage', torch.<Type>Storage, key, location, numel)
  Obj* persistent_load(Obj* pid) {
    if (pid->kind != Kind::tuple || pid->items.size() != 5 || pid->items[0]->kind != Kind::string || pid->items[0]->text != "storage")
      fail(ErrorKind::format, "persistent id is not ('storage', type, key, location, numel)");
    Obj* type = expect(pid->items[1], Kind::global, "a storage persistent id");
    Obj* key = expect(pid->items[2], Kind::string, "a storage key");
    expect(pid->items[3], Kind::string, "a storage location");
    Obj* numel = expect(pid->items[4], Kind::integer, "a storage size");
    const StorageType* st = type->text.rfind("torch.", 0) == 0 ? storage_type_by_name(type->text.substr(6)) : nullptr;
    if (!st) fail(ErrorKind::format, fmt::format("'{}' is not a storage type", type->text));
    if (numel->integer < 0) fail(ErrorKind::format, fmt::format("storage '{}' of negative size {}", key->text, numel->integer));
    Obj* o = make(Kind::storage);
    o->text = key->text;
    o->storage_type = st;
    o->storage_numel = numel->integer;
    return o;
  }

  Obj* call(const std::string& callable, const std::vector<Obj*>& args) {
    if (callable == "collections.OrderedDict") {
      if (!args.empty()) fail(ErrorKind::unsupported, "OrderedDict called with arguments");
      return make(Kind::dict);
    }
    if (callable == "torch._utils._rebuild_parameter") {
      if (args.size() != 3 || args[0]->kind != Kind::tensor) fail(ErrorKind::format, "_rebuild_parameter expects (tensor, requires_grad, hooks)");
      return args[0];
    }
    if (callable == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args);
    fail(ErrorKind::unsupported, fmt::format("'{}' is not callable", callable));
  }

  std::vector<int64_t> int_tuple(Obj* o, const char* what) const {
    if (o->kind != Kind::tuple) fail(ErrorKind::format, fmt::format("tensor {} is {}, expected a tuple of ints", what, kind_name(o->kind)));
    if (o->items.size() > kNpyMaxDims) fail(ErrorKind::unsupported, fmt::format("tensor of {} dimensions (at most {})", o->items.size(), kNpyMaxDims));
    std::vector<int64_t> out;
    for (Obj* i : o->items) {
      if (i->kind != Kind::integer || i->integer < 0)
        fail(ErrorKind::format, fmt::format("tensor {} holds {} (expected non-negative ints)", what, i->kind == Kind::integer ? "a negative int" : kind_name(i->kind)));
      out.push_back(i->integer);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  Obj* rebuild_tensor(const std::vector<Obj*>& args) {
    if (args.size() < 6 || args.size() > 7 || args[0]->kind != Kind::storage || args[1]->kind != Kind::integer)
      fail(ErrorKind::format, "_rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, hooks[, metadata])");
    Obj* storage = args[0];
    int64_t offset = args[1]->integer;
    Shape shape = int_tuple(args[2], "size");
    std::vector<int64_t> stride = int_tuple(args[3], "stride");
    if (stride.size() != shape.size())
      fail(ErrorKind::format, fmt::format("tensor size {} and stride of {} dimensions", shape_str(shape), stride.size()));
    uint64_t numel = 1;
    for (int64_t d : shape)
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel)) fail(ErrorKind::format, "tensor size overflows");
    DType dtype = storage->storage_type->dtype;
    // Expanded views (stride 0) would be materialized larger than the file: refused.
    if (numel > static_cast<uint64_t>(storage->storage_numel))
      fail(ErrorKind::unsupported, fmt::format("tensor of size {} has more elements than its storage '{}' ({}): an expanded view; "
                                               "save a .contiguous() copy", shape_str(shape), storage->text, storage->storage_numel));
    Obj* o = make(Kind::tensor);
    if (numel == 0) {
      o->tensor = Tensor(dtype, shape);
      return o;
    }
    // The last element addressed must lie inside the storage.
    uint64_t last = static_cast<uint64_t>(offset), term = 0;
    bool overflow = offset < 0;
    for (std::size_t i = 0; i < shape.size(); ++i)
      overflow = overflow || __builtin_mul_overflow(static_cast<uint64_t>(shape[i] - 1), static_cast<uint64_t>(stride[i]), &term) ||
                 __builtin_add_overflow(last, term, &last);
    if (overflow || last >= static_cast<uint64_t>(storage->storage_numel))
      fail(ErrorKind::format, fmt::format("tensor of size {}, stride ({}) at offset {} reaches past its storage '{}' of {} elements",
                                          shape_str(shape), fmt::join(stride, ","), offset, storage->text, storage->storage_numel));
    const Tensor& data = storages_.get(storage->text, *storage->storage_type, storage->storage_numel);
    std::size_t item = dtype_size(dtype);
    const auto* base = static_cast<const unsigned char*>(data.data()) + static_cast<std::size_t>(offset) * item;
    bool contiguous = true;
    int64_t expected = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
      if (shape[i] != 1 && stride[i] != expected) contiguous = false;
      expected *= shape[i];
    }
    if (contiguous) {
      if (offset == 0 && static_cast<int64_t>(numel) == data.numel()) o->tensor = data.reshaped(shape);
      else o->tensor = Tensor::borrow(dtype, shape, base, std::make_shared<Tensor>(data));
      return o;
    }
    // A strided view (a transpose, a slice): gathered into its own C-order buffer.
    Tensor out = Tensor::uninitialized(dtype, shape);
    auto* dst = static_cast<unsigned char*>(out.mutable_data());
    std::vector<int64_t> index(shape.size(), 0);
    uint64_t src = 0;
    for (uint64_t n = 0; n < numel; ++n) {
      std::memcpy(dst + n * item, base + src * item, item);
      for (std::size_t d = shape.size(); d-- > 0;) {
        src += static_cast<uint64_t>(stride[d]);
        if (++index[d] < shape[d]) break;
        src -= static_cast<uint64_t>(stride[d] * shape[d]);
        index[d] = 0;
      }
    }
    o->tensor = std::move(out);
    return o;
  }

  ByteReader in_;
  Storages& storages_;
  std::vector<Obj*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<uint64_t, Obj*> memo_;
  std::vector<std::unique_ptr<Obj>> arena_;
};

std::string leaf_text(const Obj& o) {
  switch (o.kind) {
    case Kind::none: return "None";
    case Kind::boolean: return o.boolean ? "True" : "False";
    case Kind::integer: return std::to_string(o.integer);
    case Kind::floating: return fmt::format("{}", o.floating);
    default: return o.text;
  }
}

void flatten(const Obj& o, const std::string& name, int depth, TorchStateDict& out, std::unordered_set<std::string>& seen,
             const std::string& context) {
  if (depth > kTorchMaxNesting)
    throw Error(ErrorKind::unsupported, fmt::format("{}: '{}': containers nested deeper than {}", context, name, kTorchMaxNesting));
  auto join = [&](const std::string& key) { return name.empty() ? key : key.empty() ? name : name + "." + key; };
  switch (o.kind) {
    case Kind::dict:
      for (const auto& [k, v] : o.entries) {
        if (k->kind != Kind::string && k->kind != Kind::integer)
          throw Error(ErrorKind::unsupported, fmt::format("{}: '{}': a dict key that is {} (expected strings)", context, name, kind_name(k->kind)));
        flatten(*v, join(leaf_text(*k)), depth + 1, out, seen, context);
      }
      break;
    case Kind::list:
    case Kind::tuple:
      for (std::size_t i = 0; i < o.items.size(); ++i) flatten(*o.items[i], join(std::to_string(i)), depth + 1, out, seen, context);
      break;
    case Kind::tensor:
      if (name.empty()) throw Error(ErrorKind::format, context + ": a tensor without a name (expected a dict of tensors)");
      if (!seen.insert(name).second) throw Error(ErrorKind::format, fmt::format("{}: tensor name '{}' occurs twice", context, name));
      out.tensors.emplace_back(name, *o.tensor);
      break;
    case Kind::none:
    case Kind::boolean:
    case Kind::integer:
    case Kind::floating:
    case Kind::string:
      out.metadata[name] = leaf_text(o);
      break;
    default:
      throw Error(ErrorKind::unsupported, fmt::format("{}: '{}' is {} (expected tensors, numbers, strings or None)", context, name, kind_name(o.kind)));
  }
}

// ---------------------------------------------------------------------------------------------
// Writing.

class PickleWriter {
 public:
  void opcode(unsigned char c) { out_ += static_cast<char>(c); }
  void global(std::string_view module, std::string_view name) {
    opcode(op::GLOBAL);
    out_.append(module).append("\n").append(name).append("\n");
  }
  void string(std::string_view s) {
    opcode(op::BINUNICODE);
    uint32_t n = static_cast<uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out_ += static_cast<char>((n >> (8 * i)) & 0xff);
    out_.append(s);
  }
  // As Python's pickler: the shortest of BININT1 / BININT2 / BININT / LONG1.
  void integer(int64_t v) {
    if (v >= 0 && v <= 0xff) {
      opcode(op::BININT1);
      out_ += static_cast<char>(v);
    } else if (v >= 0 && v <= 0xffff) {
      opcode(op::BININT2);
      for (int i = 0; i < 2; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
    } else if (v >= -0x80000000LL && v <= 0x7fffffffLL) {
      opcode(op::BININT);
      for (int i = 0; i < 4; ++i) out_ += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
    } else {
      std::string bytes;
      uint64_t u = static_cast<uint64_t>(v);
      for (int i = 0; i < 8; ++i) bytes += static_cast<char>((u >> (8 * i)) & 0xff);
      // Drop redundant sign bytes (two's complement, minimal length).
      while (bytes.size() > 1) {
        auto last = static_cast<unsigned char>(bytes.back()), prev = static_cast<unsigned char>(bytes[bytes.size() - 2]);
        if ((last == 0 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80))) bytes.pop_back();
        else break;
      }
      opcode(op::LONG1);
      out_ += static_cast<char>(bytes.size());
      out_ += bytes;
    }
  }
  void int_tuple(const std::vector<int64_t>& values) {
    if (values.empty()) return opcode(op::EMPTY_TUPLE);
    if (values.size() > 3) opcode(op::MARK);
    for (int64_t v : values) integer(v);
    opcode(values.size() > 3 ? op::TUPLE : static_cast<unsigned char>(op::TUPLE1 + values.size() - 1));
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

// The data.pkl of torch.save(OrderedDict(tensors)) in torch 1.13 (without memo entries, which
// only save space for repeated objects).
std::string state_dict_pickle(const NamedTensors& tensors) {
  PickleWriter w;
  w.opcode(op::PROTO);
  w.opcode(2);
  w.global("collections", "OrderedDict");
  w.opcode(op::EMPTY_TUPLE);
  w.opcode(op::REDUCE);
  if (!tensors.empty()) w.opcode(op::MARK);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i].second;
    w.string(tensors[i].first);
    w.global("torch._utils", "_rebuild_tensor_v2");
    w.opcode(op::MARK);
    w.opcode(op::MARK);
    w.string("storage");
    w.global("torch", storage_type_of(t.dtype())->name);
    w.string(std::to_string(i));
    w.string("cpu");
    w.integer(t.numel());
    w.opcode(op::TUPLE);
    w.opcode(op::BINPERSID);
    w.integer(0);
    w.int_tuple(t.shape());
    std::vector<int64_t> stride(t.shape().size());
    int64_t s = 1;
    for (std::size_t d = stride.size(); d-- > 0;) {
      stride[d] = s;
      s *= std::max<int64_t>(t.shape()[d], 1);
    }
    w.int_tuple(stride);
    w.opcode(op::NEWFALSE);
    w.global("collections", "OrderedDict");
    w.opcode(op::EMPTY_TUPLE);
    w.opcode(op::REDUCE);
    w.opcode(op::TUPLE);
    w.opcode(op::REDUCE);
  }
  if (!tensors.empty()) w.opcode(op::SETITEMS);
  w.opcode(op::STOP);
  return std::move(w.bytes());
}

}  // namespace

bool looks_like_pickle(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  return size >= 2 && p[0] == op::PROTO && p[1] >= 2 && p[1] <= 5;
}

bool is_torch_zip(const std::vector<ZipEntry>& entries) {
  for (const ZipEntry& e : entries) {
    std::size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) return true;
  }
  return false;
}

bool torch_has_dtype(DType dtype) { return storage_type_of(dtype) != nullptr; }

TorchStateDict parse_torch_file(const void* data, std::size_t size, const std::string& context) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  if (looks_like_pickle(data, size)) {
    if (size >= sizeof kLegacyMagic && std::memcmp(data, kLegacyMagic, sizeof kLegacyMagic) == 0)
      throw Error(ErrorKind::unsupported, context + ": a legacy torch.save file (torch < 1.6, not a zip): load and save it again "
                                                    "with torch >= 1.6 (its default zip format)");
    throw Error(ErrorKind::unsupported, context + ": a bare pickle stream, not a torch.save zip file (pickles are not read: they can run code)");
  }
  return parse_torch_zip(bytes, read_zip_directory(bytes, size, context), context);
}

TorchStateDict parse_torch_zip(const unsigned char* bytes, const std::vector<ZipEntry>& entries, const std::string& context) {
  const ZipEntry* pickle = nullptr;
  for (const ZipEntry& e : entries) {
    std::size_t slash = e.name.find('/');
    if (slash == std::string::npos) continue;
    std::string rest = e.name.substr(slash + 1);
    if (rest == "constants.pkl" || rest.rfind("code/", 0) == 0)
      throw Error(ErrorKind::unsupported, context + ": a TorchScript archive (torch.jit.save), not a state dict: save "
                                                    "torch.save(model.state_dict(), path) instead");
    if (rest == "data.pkl") {
      if (pickle) throw Error(ErrorKind::format, context + ": more than one data.pkl member");
      pickle = &e;
    }
  }
  if (!pickle) throw Error(ErrorKind::format, context + ": a zip archive without an '<archive>/data.pkl' member: not a torch.save file");
  std::string prefix = pickle->name.substr(0, pickle->name.size() - std::string_view("data.pkl").size());
  for (const ZipEntry& e : entries) {
    if (e.name != prefix + "byteorder") continue;
    if (e.uncompressed_size > 16) throw Error(ErrorKind::format, context + ": member '" + e.name + "' is too long");
    std::string order(static_cast<std::size_t>(e.uncompressed_size), '\0');
    ZipMemberReader reader(bytes, e, context + ": member '" + e.name + "'");
    reader.read(order.data(), order.size());
    reader.finish();
    if (order != "little")
      throw Error(ErrorKind::unsupported, context + ": byte order '" + order + "' (only little-endian files are read)");
  }
  std::string pickle_context = context + ": " + pickle->name;
  std::string pickled(static_cast<std::size_t>(pickle->uncompressed_size), '\0');  // bounded by the zip reader's checks
  ZipMemberReader reader(bytes, *pickle, pickle_context);
  reader.read(pickled.data(), pickled.size());
  reader.finish();

  Storages storages(bytes, entries, prefix, context);
  Unpickler unpickler(pickled, storages, pickle_context);
  Obj* root = unpickler.run();
  if (root->kind != Kind::dict)
    throw Error(ErrorKind::unsupported, fmt::format("{}: holds {}, expected a dict of tensors (a state dict)", context, kind_name(root->kind)));
  TorchStateDict out;
  std::unordered_set<std::string> seen;
  flatten(*root, "", 0, out, seen, context);
  return out;
}

TorchStateDict read_torch_file(const std::string& path) {
  FileBytes file(path);
  return parse_torch_file(file.data(), file.size(), path);
}

void write_torch_file(const std::string& path, const NamedTensors& tensors) {
  std::unordered_set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty()) throw Error(ErrorKind::invalid_argument, path + ": empty tensor name");
    if (!seen.insert(name).second) throw Error(ErrorKind::invalid_argument, path + ": duplicate tensor name '" + name + "'");
    if (!torch_has_dtype(tensor.dtype()))
      throw Error(ErrorKind::unsupported, fmt::format("{}: tensor '{}': dtype {} has no PyTorch storage type (torch 1.13)", path, name,
                                                      dtype_name(tensor.dtype())));
  }
  std::string pickled = state_dict_pickle(tensors);
  AtomicFile file(path);
  ZipWriter zip(file);
  const std::string archive = "archive/";
  zip.add(archive + "data.pkl", {pickled}, /*compress=*/false);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i].second;
    zip.add(archive + "data/" + std::to_string(i), {std::string_view(static_cast<const char*>(t.data()), t.nbytes())},
            /*compress=*/false, /*align=*/64);
  }
  zip.add(archive + "version", {"3\n"}, /*compress=*/false);
  zip.finish();
  file.commit();
}

}  // namespace mithril
