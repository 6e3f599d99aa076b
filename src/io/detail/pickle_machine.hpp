#pragma once
// The pickle virtual machine behind unpickle_state_dict (pickle.hpp): values, the opcode loop
// (pickle_machine.cpp) and the few torch reconstructions it knows (pickle.cpp).

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/torch.h>

#include "io/detail/pickle.hpp"
#include "satx/core/error.hpp"
#include "satx/core/torch_compat.hpp"

namespace satx::io::detail::pickle {

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

inline Ref make(Kind kind) { return std::make_shared<Value>(kind); }

// Drops references without recursion, so a hostile pickle nesting a million tuples cannot
// overflow the stack in shared_ptr destructors.
void release(std::vector<Ref> work);
// One value (an initializer list would keep a second reference alive during release()).
void release_one(Ref value);

struct StorageType {
  const char* name;
  torch::ScalarType type;
};

// A hostile pickle could otherwise grow the stack or memo without bound from a small file.
inline constexpr size_t kMaxValues = 50'000'000;

class Machine {
 public:
  Machine(const uint8_t* data, size_t size, const StorageLoader& load, const std::string& origin)
      : data_(data), size_(size), load_(load), origin_(origin) {}

  // Whatever the caller still holds from run() must be released before the machine: the
  // lists and dicts filled by APPEND/SETITEM are emptied here, because a hostile pickle can make
  // one hold itself (a cycle reference counting never frees; fuzzing found it).
  ~Machine() {
    std::vector<Ref> all = std::move(stack_);
    for (auto& [index, value] : memo_) all.push_back(std::move(value));
    for (auto& weak : mutated_)
      if (Ref target = weak.lock()) {
        for (auto& child : target->items) all.push_back(std::move(child));
        target->items.clear();
      }
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
    remember_mutated(target);
    for (auto& item : items) target->items.push_back(std::move(item));
  }
  void append_items(std::vector<Ref> items) {
    Ref& target = top();
    if (target->kind == Kind::Object) target->kind = Kind::List;
    if (target->kind != Kind::List) fail("appends to something that is not a list");
    remember_mutated(target);
    for (auto& item : items) target->items.push_back(std::move(item));
  }
  void remember_mutated(const Ref& target) {
    if (mutated_.empty() || mutated_.back().lock() != target) mutated_.push_back(target);
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
  std::vector<std::weak_ptr<Value>> mutated_;  // containers APPEND/SETITEM filled (see ~Machine)
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;
  std::map<std::string, Ref> storages_;
};

}  // namespace satx::io::detail::pickle
