#include "satx/core/torch_compat.hpp"
#if !SATX_TORCH_PICKLE_LOADS_STATE_DICTS
#include "io/detail/pickle_machine.hpp"

#include <cstdio>

namespace satx::io::detail::pickle {

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

void release_one(Ref value) {
  std::vector<Ref> work;
  work.push_back(std::move(value));
  release(std::move(work));
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

}  // namespace satx::io::detail::pickle
#endif
