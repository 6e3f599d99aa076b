#include "satx/core/torch_compat.hpp"
#if !SATX_TORCH_PICKLE_LOADS_STATE_DICTS
#include "io/detail/pickle.hpp"

#include <limits>

#include "io/detail/pickle_machine.hpp"

namespace satx::io::detail {
namespace pickle {

namespace {

constexpr StorageType kStorageTypes[] = {
    {"torch.FloatStorage", torch::kFloat},   {"torch.DoubleStorage", torch::kDouble},
    {"torch.HalfStorage", torch::kHalf},     {"torch.BFloat16Storage", torch::kBFloat16},
    {"torch.LongStorage", torch::kLong},     {"torch.IntStorage", torch::kInt},
    {"torch.ShortStorage", torch::kShort},   {"torch.CharStorage", torch::kChar},
    {"torch.ByteStorage", torch::kByte},     {"torch.BoolStorage", torch::kBool},
};

}  // namespace

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

}  // namespace pickle

std::vector<std::pair<std::string, torch::Tensor>> unpickle_state_dict(const uint8_t* data, size_t size,
                                                                      const StorageLoader& load_storage,
                                                                      const std::string& origin) {
  using namespace pickle;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  // The machine outlives the root: its destructor empties containers the root may still use.
  pickle::Machine machine(data, size, load_storage, origin);
  Ref root = machine.run();
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
#endif
