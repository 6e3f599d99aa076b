#include "io/detail/pickle.hpp"

#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <unordered_map>

#include <torch/torch.h>

#include "satx/core/error.hpp"

namespace satx::io::detail {
namespace {

enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Object, Storage, Tensor };

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  explicit Value(Kind k) : kind(k) {}
  Kind kind;
  int64_t integer = 0;
  double real = 0;
  std::string text;        // String/Bytes; "module.name" for Global and Object; key for Storage
  std::vector<Ref> items;  // Tuple/List elements; Dict as key, value, key, value, ...
  torch::Tensor tensor;    // Tensor; the 1-D elements of a Storage
};

Ref make(Kind kind) { return std::make_shared<Value>(kind); }

// Drops references without recursion, so a hostile pickle nesting a million tuples cannot
// overflow the stack in shared_ptr destructors.
void release(std::vector<Ref> work) {
  while (!work.empty()) {
    Ref value = std::move(work.back());
    work.pop_back();
    if (value && value.use_count() == 1) {
      for (auto& child : value->items) work.push_back(std::move(child));
      value->items.clear();
    }
  }
}

// An initializer list would keep a second reference alive during release(), defeating it.
void release_one(Ref value) {
  std::vector<Ref> work;
  work.push_back(std::move(value));
  release(std::move(work));
}

struct StorageType {
  const char* name;
  torch::ScalarType type;
};

constexpr StorageType kStorageTypes[] = {
    {"torch.FloatStorage", torch::kFloat},   {"torch.DoubleStorage", torch::kDouble},
    {"torch.HalfStorage", torch::kHalf},     {"torch.BFloat16Storage", torch::kBFloat16},
    {"torch.LongStorage", torch::kLong},     {"torch.IntStorage", torch::kInt},
    {"torch.ShortStorage", torch::kShort},   {"torch.CharStorage", torch::kChar},
    {"torch.ByteStorage", torch::kByte},     {"torch.BoolStorage", torch::kBool},
};

// A hostile pickle could otherwise grow the stack or memo without bound from a small file.
constexpr size_t kMaxValues = 50'000'000;

class Machine {
 public:
  Machine(const uint8_t* data, size_t size, const StorageLoader& load, const std::string& origin)
      : data_(data), size_(size), load_(load), origin_(origin) {}

  ~Machine() {
    std::vector<Ref> all = std::move(stack_);
    for (auto& [index, value] : memo_) all.push_back(std::move(value));
    release(std::move(all));
  }

  Ref run();

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    throw_bad_data(origin_ + ": pickle " + reason + " (at byte " + std::to_string(pos_) + ")");
  }
  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_) fail("ends early");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t le(int bytes) {
    const uint8_t* p = take(bytes);
    uint64_t value = 0;
    for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
    return value;
  }
  std::string line() {
    const void* found = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (!found) fail("has an unterminated text field");
    const size_t length = static_cast<const uint8_t*>(found) - (data_ + pos_);
    std::string text(reinterpret_cast<const char*>(take(length)), length);
    ++pos_;
    return text;
  }
  void push(Ref value) {
    if (stack_.size() >= kMaxValues) fail("is too large");
    stack_.push_back(std::move(value));
  }
  Ref pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("pops an empty stack");
    Ref value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  Ref& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("reads an empty stack");
    return stack_.back();
  }
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) fail("has no MARK to pop to");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(std::make_move_iterator(stack_.begin() + mark), std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }
  void push_int(int64_t value) {
    Ref v = make(Kind::Int);
    v->integer = value;
    push(std::move(v));
  }
  void push_text(Kind kind, uint64_t length) {
    Ref v = make(kind);
    const uint8_t* p = take(length);
    v->text.assign(reinterpret_cast<const char*>(p), length);
    push(std::move(v));
  }
  void push_long(uint64_t length) {
    if (length > 8) fail("has an integer wider than 64 bits");
    const uint8_t* p = take(length);
    uint64_t value = 0;
    for (int i = static_cast<int>(length) - 1; i >= 0; --i) value = (value << 8) | p[i];
    if (length > 0 && length < 8 && (p[length - 1] & 0x80)) value |= ~uint64_t{0} << (8 * length);  // sign-extend
    push_int(static_cast<int64_t>(value));
  }
  void push_tuple(std::vector<Ref> items) {
    Ref v = make(Kind::Tuple);
    v->items = std::move(items);
    push(std::move(v));
  }
  void memo_put(uint64_t index) {
    if (memo_.size() >= kMaxValues) fail("is too large");
    memo_[index] = top();
  }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("reads memo entry " + std::to_string(index) + " that was never stored");
    push(it->second);
  }
  void set_items(std::vector<Ref> items) {
    if (items.size() % 2) fail("has SETITEMS with an odd number of values");
    Ref& target = top();
    if (target->kind == Kind::Object) target->kind = Kind::Dict;  // a dict subclass built by NEWOBJ
    if (target->kind != Kind::Dict) fail("sets items on something that is not a dict");
    for (auto& item : items) target->items.push_back(std::move(item));
  }
  void append_items(std::vector<Ref> items) {
    Ref& target = top();
    if (target->kind == Kind::Object) target->kind = Kind::List;
    if (target->kind != Kind::List) fail("appends to something that is not a list");
    for (auto& item : items) target->items.push_back(std::move(item));
  }
  Ref reduce(const Ref& callable, const Ref& args);
  Ref rebuild_tensor(const std::vector<Ref>& args);
  Ref persistent_load(const Ref& pid);
  int64_t integer(const Ref& value, const char* what) const {
    if (value->kind != Kind::Int && value->kind != Kind::Bool) fail(std::string(what) + " is not an integer");
    return value->integer;
  }
  std::vector<int64_t> int_tuple(const Ref& value, const char* what) const {
    if (value->kind != Kind::Tuple && value->kind != Kind::List) fail(std::string(what) + " is not a tuple");
    std::vector<int64_t> out;
    for (const auto& item : value->items) out.push_back(integer(item, what));
    return out;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const StorageLoader& load_;
  const std::string& origin_;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;
  std::map<std::string, Ref> storages_;
};

Ref Machine::persistent_load(const Ref& pid) {
  // torch.save: ('storage', torch.FloatStorage, key, location, numel)
  if (pid->kind != Kind::Tuple || pid->items.size() < 5 || pid->items[0]->kind != Kind::String ||
      pid->items[0]->text != "storage" || pid->items[1]->kind != Kind::Global || pid->items[2]->kind != Kind::String)
    fail("has a persistent id that is not a torch storage");
  const std::string& type_name = pid->items[1]->text;
  const std::string& key = pid->items[2]->text;
  const int64_t numel = integer(pid->items[4], "storage size");
  if (numel < 0) fail("has a negative storage size");
  auto cached = storages_.find(key);
  if (cached != storages_.end()) return cached->second;
  const StorageType* type = nullptr;
  for (const auto& candidate : kStorageTypes)
    if (type_name == candidate.name) type = &candidate;
  if (!type) fail("uses storage type " + type_name + ", which satx cannot load");
  Ref storage = make(Kind::Storage);
  storage->text = key;
  storage->tensor = load_(key, type->type, numel);
  storages_[key] = storage;
  return storage;
}

Ref Machine::rebuild_tensor(const std::vector<Ref>& args) {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.size() < 4 || args[0]->kind != Kind::Storage) fail("calls _rebuild_tensor_v2 with unexpected arguments");
  const torch::Tensor& storage = args[0]->tensor;
  const int64_t offset = integer(args[1], "storage offset");
  const std::vector<int64_t> sizes = int_tuple(args[2], "tensor size");
  const std::vector<int64_t> strides = int_tuple(args[3], "tensor stride");
  if (sizes.size() != strides.size()) fail("has a tensor whose size and stride differ in length");
  if (offset < 0) fail("has a negative storage offset");
  // Every element the view can reach must lie inside the storage; checked without overflow.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t numel = 1, last = offset;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] < 0 || strides[d] < 0) fail("has a negative tensor size or stride");
    if (sizes[d] != 0 && numel > kMax / sizes[d]) fail("has a tensor size that overflows");
    numel *= sizes[d];
  }
  if (numel > 0) {
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (strides[d] != 0 && sizes[d] - 1 > (kMax - last) / strides[d]) fail("has a tensor stride that overflows");
      last += (sizes[d] - 1) * strides[d];
    }
    if (last >= storage.numel()) fail("has a tensor that reaches past the end of its storage");
  }
  Ref tensor = make(Kind::Tensor);
  if (numel == 0) {
    tensor->tensor = torch::empty(sizes, storage.options());
  } else {
    torch::Tensor view = storage.as_strided(sizes, strides, offset);
    // A tensor that is its whole storage needs no copy; anything else gets its own memory.
    const bool whole = offset == 0 && numel == storage.numel() && view.is_contiguous();
    tensor->tensor = whole ? view : view.clone(at::MemoryFormat::Contiguous);
  }
  return tensor;
}

Ref Machine::reduce(const Ref& callable, const Ref& args) {
  if (args->kind != Kind::Tuple) fail("calls with arguments that are not a tuple");
  const std::string name = callable->kind == Kind::Global ? callable->text : "";
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor")
    return rebuild_tensor(args->items);
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    if (args->items.empty() || args->items[0]->kind != Kind::Tensor) fail("rebuilds a parameter without a tensor");
    return args->items[0];
  }
  if (name == "collections.OrderedDict" || name == "builtins.dict" || name == "__builtin__.dict") {
    Ref dict = make(Kind::Dict);
    // OrderedDict([(k, v), ...]) as some writers pickle it.
    if (!args->items.empty() && args->items[0]->kind == Kind::List)
      for (const auto& pair : args->items[0]->items)
        if (pair->kind == Kind::Tuple && pair->items.size() == 2) {
          dict->items.push_back(pair->items[0]);
          dict->items.push_back(pair->items[1]);
        }
    return dict;
  }
  // Anything else is kept as an opaque object: satx never runs code from a weights file.
  Ref object = make(Kind::Object);
  object->text = name;
  return object;
}

Ref Machine::run() {
  while (true) {
    const uint8_t op = *take(1);
    switch (op) {
      case 0x80: {  // PROTO
        if (le(1) > 5) fail("uses a protocol newer than 5");
        break;
      }
      case 0x95: take(8); break;  // FRAME: framing only
      case '.': {                 // STOP
        Ref result = pop();
        return result;
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0': pop(); break;                            // POP
      case '1': release(pop_mark()); break;              // POP_MARK
      case '2': push(top()); break;                      // DUP
      case 'N': push(make(Kind::None)); break;
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        Ref v = make(Kind::Bool);
        v->integer = op == 0x88;
        push(std::move(v));
        break;
      }
      case 'J': push_int(static_cast<int32_t>(le(4))); break;  // BININT
      case 'K': push_int(static_cast<int64_t>(le(1))); break;  // BININT1
      case 'M': push_int(static_cast<int64_t>(le(2))); break;  // BININT2
      case 0x8a: push_long(le(1)); break;                      // LONG1
      case 0x8b: push_long(le(4)); break;                      // LONG4
      case 'I': {                                              // INT (protocol 0; also True/False)
        const std::string text = line();
        char* end = nullptr;
        const long long value = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end) fail("has a malformed INT");
        push_int(value);
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        Ref v = make(Kind::Float);
        std::memcpy(&v->real, &bits, sizeof bits);
        push(std::move(v));
        break;
      }
      case 'X': push_text(Kind::String, le(4)); break;    // BINUNICODE
      case 0x8c: push_text(Kind::String, le(1)); break;   // SHORT_BINUNICODE
      case 0x8d: push_text(Kind::String, le(8)); break;   // BINUNICODE8
      case 'T': push_text(Kind::String, le(4)); break;    // BINSTRING
      case 'U': push_text(Kind::String, le(1)); break;    // SHORT_BINSTRING
      case 'B': push_text(Kind::Bytes, le(4)); break;     // BINBYTES
      case 'C': push_text(Kind::Bytes, le(1)); break;     // SHORT_BINBYTES
      case 0x8e: push_text(Kind::Bytes, le(8)); break;    // BINBYTES8
      case ')': push_tuple({}); break;                    // EMPTY_TUPLE
      case 't': push_tuple(pop_mark()); break;            // TUPLE
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        std::vector<Ref> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push_tuple(std::move(items));
        break;
      }
      case ']':
      case 0x8f: push(make(Kind::List)); break;  // EMPTY_LIST, EMPTY_SET (kept as a list)
      case 'l':
      case 0x91: {  // LIST, FROZENSET
        Ref v = make(Kind::List);
        v->items = pop_mark();
        push(std::move(v));
        break;
      }
      case 'a': {  // APPEND
        Ref item = pop();
        append_items({std::move(item)});
        break;
      }
      case 'e':
      case 0x90: append_items(pop_mark()); break;  // APPENDS, ADDITEMS
      case '}': push(make(Kind::Dict)); break;    // EMPTY_DICT
      case 'd': {                                 // DICT
        Ref v = make(Kind::Dict);
        v->items = pop_mark();
        if (v->items.size() % 2) fail("has DICT with an odd number of values");
        push(std::move(v));
        break;
      }
      case 's': {  // SETITEM
        Ref value = pop();
        Ref key = pop();
        set_items({std::move(key), std::move(value)});
        break;
      }
      case 'u': set_items(pop_mark()); break;  // SETITEMS
      case 'c': {                              // GLOBAL
        Ref v = make(Kind::Global);
        v->text = line();
        v->text += "." + line();
        push(std::move(v));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Ref name = pop();
        Ref module = pop();
        if (name->kind != Kind::String || module->kind != Kind::String) fail("has STACK_GLOBAL without strings");
        Ref v = make(Kind::Global);
        v->text = module->text + "." + name->text;
        push(std::move(v));
        break;
      }
      case 'R': {  // REDUCE
        Ref args = pop();
        Ref callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ
        pop();
        Ref cls = pop();
        Ref v = make(Kind::Object);
        v->text = cls->kind == Kind::Global ? cls->text : "";
        push(std::move(v));
        break;
      }
      case 0x92: {  // NEWOBJ_EX
        pop();
        pop();
        Ref cls = pop();
        Ref v = make(Kind::Object);
        v->text = cls->kind == Kind::Global ? cls->text : "";
        push(std::move(v));
        break;
      }
      case 'b': {  // BUILD: state for __setstate__ (OrderedDict._metadata and the like): ignored
        Ref state = pop();
        top();
        release_one(std::move(state));
        break;
      }
      case 'Q': {  // BINPERSID
        Ref pid = pop();
        push(persistent_load(pid));
        break;
      }
      case 'q': memo_put(le(1)); break;           // BINPUT
      case 'r': memo_put(le(4)); break;           // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;   // MEMOIZE
      case 'h': memo_get(le(1)); break;           // BINGET
      case 'j': memo_get(le(4)); break;           // LONG_BINGET
      case 'p':
      case 'g': {  // PUT, GET (text indices)
        const std::string text = line();
        char* end = nullptr;
        const unsigned long long index = std::strtoull(text.c_str(), &end, 10);
        if (text.empty() || *end) fail("has a malformed memo index");
        op == 'p' ? memo_put(index) : memo_get(index);
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("uses opcode ") + hex + ", which a state dict does not need");
      }
    }
  }
}

std::vector<std::pair<std::string, torch::Tensor>> tensors_of(const Ref& dict) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  if (!dict || dict->kind != Kind::Dict) return out;
  for (size_t i = 0; i + 1 < dict->items.size(); i += 2)
    if (dict->items[i]->kind == Kind::String && dict->items[i + 1]->kind == Kind::Tensor)
      out.emplace_back(dict->items[i]->text, dict->items[i + 1]->tensor);
  return out;
}

Ref dict_value(const Ref& dict, const std::string& key) {
  for (size_t i = 0; i + 1 < dict->items.size(); i += 2)
    if (dict->items[i]->kind == Kind::String && dict->items[i]->text == key) return dict->items[i + 1];
  return nullptr;
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> unpickle_state_dict(const uint8_t* data, size_t size,
                                                                      const StorageLoader& load_storage,
                                                                      const std::string& origin) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  Ref root;
  {
    Machine machine(data, size, load_storage, origin);
    root = machine.run();
  }
  if (root->kind == Kind::Dict) {
    tensors = tensors_of(root);
    // Training checkpoints nest the weights one level down.
    for (const char* key : {"state_dict", "model_state_dict", "model", "state", "net", "module"}) {
      if (!tensors.empty()) break;
      tensors = tensors_of(dict_value(root, key));
    }
  }
  const Kind kind = root->kind;
  release_one(std::move(root));
  if (tensors.empty())
    throw_bad_data(origin + (kind == Kind::Dict ? ": holds no tensors under any key satx knows (not a state dict?)"
                                                : ": does not hold a state dict (a pickled module or TorchScript?)"));
  bool prefixed = true;
  for (const auto& [name, tensor] : tensors) prefixed = prefixed && name.rfind("module.", 0) == 0;
  if (prefixed)
    for (auto& entry : tensors) entry.first.erase(0, 7);
  return tensors;
}

}  // namespace satx::io::detail
