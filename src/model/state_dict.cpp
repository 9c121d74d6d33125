// A small unpickler/pickler for the subset of Python's pickle protocol that torch.save emits for
// state dicts (plain dicts, OrderedDicts with `_metadata`, nested dicts, tensors and parameters),
// in both torch.save formats: the zip archive (torch >= 1.6) and the legacy stream (older files,
// e.g. some of torchvision's downloads).
#include "model/state_dict.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"

namespace skintriage {

namespace {

// ------------------------------------------------------------------ pickled values

struct PValue;
using PV = std::shared_ptr<PValue>;

struct PValue {
  enum Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Tensor, Storage, Object, Mark };
  Kind kind = None;
  int64_t i = 0;
  double f = 0;
  std::string s;                         // Str, Bytes, Global ("module.name"), Object (its global)
  std::vector<PV> items;                 // Tuple, List, Object args
  std::vector<std::pair<PV, PV>> dict;   // Dict
  torch::Tensor t;                       // Tensor, Storage (flat)
};

PV make(PValue::Kind k) {
  auto v = std::make_shared<PValue>();
  v->kind = k;
  return v;
}

const char* kind_name(PValue::Kind k) {
  static const char* names[] = {"None",    "bool",   "int",     "float",  "str",
                                "bytes",   "tuple",  "list",    "dict",   "global",
                                "tensor",  "storage", "object", "mark"};
  return names[k];
}

struct StorageType {
  const char* name;
  c10::ScalarType dtype;
};
const StorageType kStorageTypes[] = {
    {"FloatStorage", torch::kFloat32}, {"DoubleStorage", torch::kFloat64}, {"HalfStorage", torch::kFloat16},
    {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kInt64}, {"IntStorage", torch::kInt32},
    {"ShortStorage", torch::kInt16},   {"CharStorage", torch::kInt8},      {"ByteStorage", torch::kUInt8},
    {"BoolStorage", torch::kBool}};

// Storages referenced by persistent ids; `fetch` fills one from the archive (zip format) or
// they are filled after the pickle (legacy format).
struct StorageTable {
  std::map<std::string, torch::Tensor> by_key;
  std::vector<std::string> order;
  std::function<void(const std::string& key, torch::Tensor& flat)> fetch;
};

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, size_t pos, StorageTable* storages, std::string where)
      : data_(data), size_(size), pos_(pos), storages_(storages), where_(std::move(where)) {}

  PV load();
  size_t position() const { return pos_; }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    throw InputError(where_ + ": cannot read pickle at byte " + std::to_string(pos_) + ": " + msg);
  }
  const uint8_t* take(size_t n) {
    if (n > size_ - pos_) fail("truncated data");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t read_le(size_t n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(p[k]) << (8 * k);
    return v;
  }
  std::string read_line() {
    size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ >= size_) fail("unterminated text line");
    std::string s(reinterpret_cast<const char*>(data_ + start), pos_ - start);
    ++pos_;
    return s;
  }
  std::string read_str(size_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  PV pop() {
    if (stack_.empty()) fail("stack underflow");
    PV v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PV& top() {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<PV> pop_mark() {
    if (marks_.empty()) fail("missing MARK");
    size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) fail("corrupt MARK");
    std::vector<PV> items(stack_.begin() + static_cast<long>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  void memo_put(size_t idx) { memo_[idx] = top(); }
  PV memo_get(size_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) fail("unknown memo index " + std::to_string(idx));
    return it->second;
  }
  PV global(const std::string& module, const std::string& name) {
    auto g = make(PValue::Global);
    g->s = module + "." + name;
    return g;
  }
  PV integer(int64_t v) {
    auto x = make(PValue::Int);
    x->i = v;
    return x;
  }
  PV tuple(std::vector<PV> items) {
    auto t = make(PValue::Tuple);
    t->items = std::move(items);
    return t;
  }
  int64_t as_int(const PV& v, const char* what) {
    if (v->kind == PValue::Int) return v->i;
    if (v->kind == PValue::Bool) return v->i;
    fail(std::string(what) + ": expected an int, got " + kind_name(v->kind));
  }
  std::vector<int64_t> as_ints(const PV& v, const char* what) {
    if (v->kind != PValue::Tuple && v->kind != PValue::List)
      fail(std::string(what) + ": expected a tuple, got " + kind_name(v->kind));
    std::vector<int64_t> out;
    for (auto& x : v->items) out.push_back(as_int(x, what));
    return out;
  }
  PV persistent_load(const PV& pid);
  PV reduce(const PV& callable, const PV& args);

  const uint8_t* data_;
  size_t size_;
  size_t pos_;
  StorageTable* storages_;
  std::string where_;
  std::vector<PV> stack_;
  std::vector<size_t> marks_;
  std::map<size_t, PV> memo_;
};

PV Unpickler::persistent_load(const PV& pid) {
  if (pid->kind != PValue::Tuple || pid->items.size() < 5 || pid->items[0]->kind != PValue::Str ||
      pid->items[0]->s != "storage")
    fail("unsupported persistent id (only tensor storages are supported)");
  const PV& type = pid->items[1];
  if (type->kind != PValue::Global) fail("storage type is not a class");
  std::string tname = type->s.substr(type->s.rfind('.') + 1);
  const StorageType* st = nullptr;
  for (const auto& s : kStorageTypes)
    if (tname == s.name) st = &s;
  if (!st) fail("unsupported storage type " + type->s);
  if (pid->items[2]->kind != PValue::Str) fail("storage key is not a string");
  const std::string& key = pid->items[2]->s;
  int64_t numel = as_int(pid->items[4], "storage size");
  if (numel < 0) fail("negative storage size");
  auto it = storages_->by_key.find(key);
  torch::Tensor flat;
  if (it != storages_->by_key.end()) {
    flat = it->second;
  } else {
    flat = torch::empty({numel}, torch::TensorOptions().dtype(st->dtype));
    if (storages_->fetch) storages_->fetch(key, flat);
    storages_->by_key[key] = flat;
    storages_->order.push_back(key);
  }
  // Legacy files may describe a view into a larger storage: (view_key, offset, size).
  if (pid->items.size() >= 6 && pid->items[5]->kind == PValue::Tuple && pid->items[5]->items.size() == 3) {
    int64_t off = as_int(pid->items[5]->items[1], "view offset");
    int64_t len = as_int(pid->items[5]->items[2], "view size");
    if (off < 0 || len < 0 || off + len > flat.numel()) fail("storage view out of range");
    flat = flat.narrow(0, off, len);
  }
  auto v = make(PValue::Storage);
  v->t = flat;
  return v;
}

PV Unpickler::reduce(const PV& callable, const PV& args) {
  if (callable->kind != PValue::Global) fail("REDUCE on a non-class value");
  const std::string& name = callable->s;
  const auto& a = args->items;
  if (name == "collections.OrderedDict") {
    auto d = make(PValue::Dict);
    if (!a.empty() && a[0]->kind == PValue::List)
      for (auto& kv : a[0]->items)
        if (kv->kind == PValue::Tuple && kv->items.size() == 2) d->dict.emplace_back(kv->items[0], kv->items[1]);
    return d;
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    if (a.size() < 4 || a[0]->kind != PValue::Storage) fail(name + ": unexpected arguments");
    int64_t offset = as_int(a[1], "storage offset");
    auto sizes = as_ints(a[2], "tensor size");
    auto strides = as_ints(a[3], "tensor stride");
    if (sizes.size() != strides.size()) fail("tensor size and stride differ in length");
    const torch::Tensor& flat = a[0]->t;
    int64_t last = offset;
    bool empty = false;
    for (size_t k = 0; k < sizes.size(); ++k) {
      if (sizes[k] < 0 || strides[k] < 0) fail("negative tensor size or stride");
      if (sizes[k] == 0) empty = true;
      last += (sizes[k] - 1) * strides[k];
    }
    auto v = make(PValue::Tensor);
    if (empty) {
      v->t = torch::empty(sizes, flat.options());
    } else {
      if (offset < 0 || last >= flat.numel()) fail("tensor extends past its storage");
      v->t = flat.as_strided(sizes, strides, offset);
    }
    return v;
  }
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != PValue::Tensor) fail(name + ": unexpected arguments");
    return a[0];
  }
  if (name == "torch._tensor._rebuild_from_type_v2" || name == "torch._tensor._rebuild_from_type") {
    if (a.size() < 3 || a[2]->kind != PValue::Tuple) fail(name + ": unexpected arguments");
    return reduce(a[0], a[2]);
  }
  auto o = make(PValue::Object);
  o->s = name;
  o->items = a;
  return o;
}

PV Unpickler::load() {
  while (true) {
    uint8_t op = *take(1);
    switch (op) {
      case 0x80: take(1); break;                    // PROTO
      case 0x95: take(8); break;                    // FRAME
      case '.': return pop();                       // STOP
      case '(': marks_.push_back(stack_.size()); break;
      case '}': stack_.push_back(make(PValue::Dict)); break;
      case ']': stack_.push_back(make(PValue::List)); break;
      case ')': stack_.push_back(tuple({})); break;
      case 'N': stack_.push_back(make(PValue::None)); break;
      case 0x88:
      case 0x89: {
        auto b = make(PValue::Bool);
        b->i = op == 0x88;
        stack_.push_back(b);
        break;
      }
      case 'J': stack_.push_back(integer(static_cast<int32_t>(read_le(4)))); break;
      case 'K': stack_.push_back(integer(static_cast<int64_t>(read_le(1)))); break;
      case 'M': stack_.push_back(integer(static_cast<int64_t>(read_le(2)))); break;
      case 0x8a:
      case 0x8b: {  // LONG1 / LONG4: little-endian two's complement
        size_t n = op == 0x8a ? read_le(1) : read_le(4);
        const uint8_t* p = take(n);
        if (n > 8) {  // only the legacy magic number is this large; keep its low bits
          stack_.push_back(integer(0));
          break;
        }
        uint64_t v = 0;
        for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(p[k]) << (8 * k);
        if (n > 0 && n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);
        stack_.push_back(integer(static_cast<int64_t>(v)));
        break;
      }
      case 'G': {
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[k];
        auto f = make(PValue::Float);
        std::memcpy(&f->f, &bits, 8);
        stack_.push_back(f);
        break;
      }
      case 'X':
      case 0x8c:
      case 0x8d:
      case 'T':
      case 'U':
      case 'B':
      case 'C':
      case 0x8e: {
        size_t n = (op == 'X' || op == 'T' || op == 'B') ? read_le(4)
                   : (op == 0x8d || op == 0x8e)          ? read_le(8)
                                                         : read_le(1);
        auto v = make((op == 'B' || op == 'C' || op == 0x8e) ? PValue::Bytes : PValue::Str);
        v->s = read_str(n);
        stack_.push_back(v);
        break;
      }
      case 'q': memo_put(read_le(1)); break;
      case 'r': memo_put(read_le(4)); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'h': stack_.push_back(memo_get(read_le(1))); break;
      case 'j': stack_.push_back(memo_get(read_le(4))); break;
      case 't': stack_.push_back(tuple(pop_mark())); break;
      case 0x85: {
        auto a = pop();
        stack_.push_back(tuple({a}));
        break;
      }
      case 0x86: {
        auto b = pop(), a = pop();
        stack_.push_back(tuple({a, b}));
        break;
      }
      case 0x87: {
        auto c = pop(), b = pop(), a = pop();
        stack_.push_back(tuple({a, b, c}));
        break;
      }
      case 'l': {
        auto l = make(PValue::List);
        l->items = pop_mark();
        stack_.push_back(l);
        break;
      }
      case 'd': {
        auto items = pop_mark();
        if (items.size() % 2) fail("DICT with an odd number of items");
        auto d = make(PValue::Dict);
        for (size_t k = 0; k < items.size(); k += 2) d->dict.emplace_back(items[k], items[k + 1]);
        stack_.push_back(d);
        break;
      }
      case 'c': {
        std::string module = read_line();
        std::string name = read_line();
        stack_.push_back(global(module, name));
        break;
      }
      case 0x93: {
        auto name = pop(), module = pop();
        if (name->kind != PValue::Str || module->kind != PValue::Str) fail("STACK_GLOBAL needs strings");
        stack_.push_back(global(module->s, name->s));
        break;
      }
      case 'R': {
        auto args = pop();
        auto callable = pop();
        if (args->kind != PValue::Tuple) fail("REDUCE arguments are not a tuple");
        stack_.push_back(reduce(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ cls args
        auto args = pop();
        auto cls = pop();
        if (args->kind != PValue::Tuple) fail("NEWOBJ arguments are not a tuple");
        stack_.push_back(reduce(cls, args));
        break;
      }
      case 'b': pop(); break;  // BUILD: object state (an OrderedDict's _metadata) is not needed
      case 's': {
        auto v = pop(), k = pop();
        if (top()->kind != PValue::Dict) fail("SETITEM on a non-dict");
        top()->dict.emplace_back(k, v);
        break;
      }
      case 'u': {
        auto items = pop_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        if (top()->kind != PValue::Dict) fail("SETITEMS on a non-dict");
        for (size_t k = 0; k < items.size(); k += 2) top()->dict.emplace_back(items[k], items[k + 1]);
        break;
      }
      case 'a': {
        auto v = pop();
        if (top()->kind != PValue::List) fail("APPEND on a non-list");
        top()->items.push_back(v);
        break;
      }
      case 'e': {
        auto items = pop_mark();
        if (top()->kind != PValue::List) fail("APPENDS on a non-list");
        for (auto& v : items) top()->items.push_back(v);
        break;
      }
      case 'Q': stack_.push_back(persistent_load(pop())); break;
      case '0': pop(); break;
      case '1': pop_mark(); break;
      case '2': stack_.push_back(top()); break;
      default: {
        std::ostringstream os;
        os << "unsupported pickle opcode 0x" << std::hex << static_cast<int>(op);
        fail(os.str());
      }
    }
  }
}

// Flattens the unpickled object into name -> tensor (nested dicts join their keys with '.').
void flatten(const PV& v, const std::string& prefix, StateDict& out, const std::string& where) {
  if (v->kind == PValue::Dict) {
    for (const auto& kv : v->dict) {
      std::string key;
      if (kv.first->kind == PValue::Str)
        key = kv.first->s;
      else if (kv.first->kind == PValue::Int)
        key = std::to_string(kv.first->i);
      else
        throw InputError(where + ": state dict key is a " + kind_name(kv.first->kind) + ", not a string");
      flatten(kv.second, prefix.empty() ? key : prefix + "." + key, out, where);
    }
    return;
  }
  if (prefix.empty())
    throw InputError(where + ": not a state dict (the file holds a " + std::string(kind_name(v->kind)) +
                     (v->kind == PValue::Object ? " " + v->s : "") + ", expected a dict of tensors)");
  switch (v->kind) {
    case PValue::Tensor: out.emplace_back(prefix, v->t.contiguous()); return;
    case PValue::Int: out.emplace_back(prefix, torch::tensor(v->i, torch::kInt64)); return;
    case PValue::Bool: out.emplace_back(prefix, torch::tensor(static_cast<bool>(v->i))); return;
    case PValue::Float: out.emplace_back(prefix, torch::tensor(v->f, torch::kFloat64)); return;
    default:
      throw InputError(where + ": entry '" + prefix + "' is a " + kind_name(v->kind) +
                       (v->kind == PValue::Object ? " (" + v->s + ")" : "") + ", not a tensor");
  }
}

std::string read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open weight file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StateDict load_zip(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw InputError(path + ": not a readable torch.save zip archive (" + split(e.what_without_backtrace(), '\n')[0] + ")");
  }
  StorageTable storages;
  storages.fetch = [&](const std::string& key, torch::Tensor& flat) {
    std::string rec = "data/" + key;
    if (!reader->hasRecord(rec)) throw InputError(path + ": archive lacks tensor storage '" + rec + "'");
    auto [ptr, size] = reader->getRecord(rec);
    size_t need = static_cast<size_t>(flat.numel()) * flat.element_size();
    if (size < need)
      throw InputError(path + ": tensor storage '" + rec + "' holds " + std::to_string(size) + " bytes, expected " +
                       std::to_string(need));
    if (need) std::memcpy(flat.data_ptr(), ptr.get(), need);
  };
  try {
    if (!reader->hasRecord("data.pkl")) throw InputError(path + ": archive has no data.pkl (not a torch.save file)");
    auto [ptr, size] = reader->getRecord("data.pkl");
    Unpickler u(static_cast<const uint8_t*>(ptr.get()), size, 0, &storages, path);
    StateDict out;
    flatten(u.load(), "", out, path);
    return out;
  } catch (const c10::Error& e) {
    throw InputError(path + ": corrupt torch.save archive (" + split(e.what_without_backtrace(), '\n')[0] + ")");
  }
}

// torch.save's format before 1.6: magic, protocol, sys_info, the object, storage keys, then each
// storage as int64 element count + raw little-endian bytes.
StateDict load_legacy(const std::string& path, const std::string& bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  StorageTable storages;
  size_t pos = 0;
  for (int k = 0; k < 3; ++k) {  // magic number, protocol version, sys_info
    Unpickler u(data, bytes.size(), pos, &storages, path);
    u.load();
    pos = u.position();
  }
  Unpickler main(data, bytes.size(), pos, &storages, path);
  PV obj = main.load();
  Unpickler keys_reader(data, bytes.size(), main.position(), &storages, path);
  PV keys = keys_reader.load();
  pos = keys_reader.position();
  if (keys->kind != PValue::List) throw InputError(path + ": corrupt legacy torch.save file (no storage list)");
  for (const auto& k : keys->items) {
    if (k->kind != PValue::Str) throw InputError(path + ": corrupt legacy torch.save file (storage key)");
    auto it = storages.by_key.find(k->s);
    if (pos + 8 > bytes.size()) throw InputError(path + ": truncated legacy torch.save file");
    int64_t numel = 0;
    std::memcpy(&numel, data + pos, 8);
    pos += 8;
    if (it == storages.by_key.end() || numel != it->second.numel())
      throw InputError(path + ": corrupt legacy torch.save file (storage '" + k->s + "')");
    size_t n = static_cast<size_t>(numel) * it->second.element_size();
    if (pos + n > bytes.size()) throw InputError(path + ": truncated legacy torch.save file");
    if (n) std::memcpy(it->second.data_ptr(), data + pos, n);
    pos += n;
  }
  StateDict out;
  flatten(obj, "", out, path);
  return out;
}

// ------------------------------------------------------------------ pickler

class Pickler {
 public:
  std::string out;
  void op(uint8_t c) { out.push_back(static_cast<char>(c)); }
  void le(uint64_t v, int n) {
    for (int k = 0; k < n; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
  }
  void str(const std::string& s) {
    op('X');
    le(s.size(), 4);
    out += s;
  }
  void global(const std::string& module, const std::string& name) {
    op('c');
    out += module + "\n" + name + "\n";
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      op('M');
      le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else {
      op(0x8a);
      le(8, 1);
      le(static_cast<uint64_t>(v), 8);
    }
  }
  void int_tuple(c10::IntArrayRef v) {
    op('(');
    for (auto x : v) integer(x);
    op('t');
  }
};

const char* storage_name(c10::ScalarType t) {
  for (const auto& s : kStorageTypes)
    if (s.dtype == t) return s.name;
  return nullptr;
}

}  // namespace

StateDict load_state_dict(const std::string& path) {
  std::string head;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot open weight file");
    char buf[4] = {0, 0, 0, 0};
    in.read(buf, 4);
    head.assign(buf, static_cast<size_t>(in.gcount()));
  }
  try {
    if (head.size() == 4 && head.compare(0, 4, "PK\x03\x04", 4) == 0) return load_zip(path);
    if (head.size() >= 2 && static_cast<uint8_t>(head[0]) == 0x80) return load_legacy(path, read_binary(path));
  } catch (const c10::Error& e) {  // e.g. an absurd tensor size in a corrupt file
    throw InputError(path + ": corrupt weight file (" + split(e.what_without_backtrace(), '\n')[0] + ")");
  } catch (const std::bad_alloc&) {
    throw InputError(path + ": corrupt weight file (a tensor larger than memory)");
  }
  throw InputError(path + ": not a PyTorch weight file (neither a torch.save zip archive nor a legacy pickle)");
}

void save_state_dict(const std::string& path, const StateDict& state) {
  Pickler p;
  p.op(0x80);
  p.le(2, 1);
  p.op('}');
  std::vector<torch::Tensor> storages;
  std::set<std::string> seen;
  if (!state.empty()) p.op('(');
  for (const auto& [name, tensor] : state) {
    if (!seen.insert(name).second) throw InputError(path + ": duplicate tensor name '" + name + "'");
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const char* sname = storage_name(t.scalar_type());
    if (!sname) throw InputError(path + ": tensor '" + name + "' has an unsupported dtype " + std::string(c10::toString(t.scalar_type())));
    std::string key = std::to_string(storages.size());
    storages.push_back(t);
    p.str(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');
    p.str("storage");
    p.global("torch", sname);
    p.str(key);
    p.str("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);
    p.int_tuple(t.sizes());
    p.int_tuple(t.strides());
    p.op(0x89);
    p.global("collections", "OrderedDict");
    p.op(')');
    p.op('R');
    p.op('t');
    p.op('R');
  }
  if (!state.empty()) p.op('u');
  p.op('.');

  std::string bytes;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* buf, size_t n) -> size_t {
      bytes.append(static_cast<const char*>(buf), n);
      return n;
    });
    writer.writeRecord("data.pkl", p.out.data(), p.out.size());
    for (size_t k = 0; k < storages.size(); ++k)
      writer.writeRecord("data/" + std::to_string(k), storages[k].data_ptr(),
                         static_cast<size_t>(storages[k].numel()) * storages[k].element_size());
    writer.writeEndOfFile();
  }
  write_file_atomic(path, bytes);
}

StateDict module_state(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& item : module.named_modules("", /*include_self=*/true)) {
    std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) out.emplace_back(prefix + p.key(), p.value());
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value());
  }
  return out;
}

namespace {
std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? "," : "") + std::to_string(t.size(d));
  return s + "]";
}
bool skipped(const std::string& name, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes)
    if (starts_with(name, p)) return true;
  return false;
}
}  // namespace

void load_into(torch::nn::Module& module, const StateDict& state, const LoadOptions& options,
               const std::string& source) {
  StateDict own = module_state(module);
  std::map<std::string, torch::Tensor> target;
  for (auto& [name, t] : own)
    if (!skipped(name, options.skip_prefixes)) target.emplace(name, t);
  std::vector<std::string> missing, unexpected, wrong;
  std::set<std::string> found;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  for (const auto& [name, t] : state) {
    if (skipped(name, options.skip_prefixes)) continue;
    auto it = target.find(name);
    if (it == target.end()) {
      unexpected.push_back(name + " " + shape_str(t));
      continue;
    }
    found.insert(name);
    if (!t.sizes().equals(it->second.sizes())) {
      wrong.push_back(name + ": file " + shape_str(t) + ", model " + shape_str(it->second));
      continue;
    }
    copies.emplace_back(it->second, t);
  }
  for (auto& [name, t] : own)
    if (!skipped(name, options.skip_prefixes) && !found.count(name)) missing.push_back(name + " " + shape_str(t));
  bool bad = !wrong.empty() || (options.strict && (!missing.empty() || !unexpected.empty()));
  if (bad) {
    std::ostringstream os;
    os << source << ": weights do not fit the model: " << missing.size() << " missing, " << unexpected.size()
       << " unexpected, " << wrong.size() << " wrong-shaped tensor(s)";
    std::string arch = detect_architecture(state);
    if (!arch.empty()) os << " (the file looks like " << arch << ")";
    for (const auto& m : missing) os << "\n  missing: " << m;
    for (const auto& u : unexpected) os << "\n  unexpected: " << u;
    for (const auto& w : wrong) os << "\n  wrong shape: " << w;
    throw InputError(os.str());
  }
  torch::NoGradGuard guard;
  for (auto& [dst, src] : copies) dst.copy_(src);
}

std::string detect_architecture(const StateDict& state) {
  std::set<std::string> names;
  for (const auto& kv : state) names.insert(kv.first);
  auto has = [&](const std::string& n) { return names.count(n) > 0; };
  auto blocks = [&](int layer) {
    int n = 0;
    while (has("layer" + std::to_string(layer) + "." + std::to_string(n) + ".conv1.weight")) ++n;
    return n;
  };
  if (has("features.18.0.weight") && has("features.1.conv.0.0.weight") && !has("features.19.0.weight"))
    return "mobilenet_v2";
  if (has("Mixed_7c.branch_pool.conv.weight") && has("Conv2d_1a_3x3.conv.weight")) return "inception_v3";
  if (has("conv1.weight") && has("layer4.0.conv1.weight")) {
    std::vector<int> b{blocks(1), blocks(2), blocks(3), blocks(4)};
    bool bottleneck = has("layer1.0.conv3.weight");
    if (!bottleneck && b == std::vector<int>{2, 2, 2, 2}) return "resnet18";
    if (bottleneck && b == std::vector<int>{3, 4, 6, 3}) return "resnet50";
  }
  return "";
}

}  // namespace skintriage
