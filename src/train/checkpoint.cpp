#include "satx/train/checkpoint.hpp"

#include <sstream>

#include <torch/torch.h>

#include "satx/core/error.hpp"
#include "satx/core/files.hpp"

namespace fs = std::filesystem;

namespace satx::train {

namespace {

constexpr int kStateVersion = 1;

// Archive keys cannot hold dots, so tensors are stored by position with their names in the JSON.
std::vector<std::pair<std::string, torch::Tensor>> model_tensors(torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& item : model.named_parameters(true)) tensors.emplace_back(item.key(), item.value());
  for (const auto& item : model.named_buffers(true)) tensors.emplace_back(item.key(), item.value());
  return tensors;
}

torch::Tensor bytes_to_tensor(const std::string& bytes) {
  auto tensor = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(tensor.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return tensor;
}

std::string tensor_to_bytes(const torch::Tensor& tensor) {
  const auto t = tensor.contiguous().to(torch::kCPU);
  return std::string(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), static_cast<size_t>(t.numel()));
}

struct LoadedArchive {
  torch::serialize::InputArchive archive;
  nlohmann::json header;
};

void load_archive(const fs::path& path, LoadedArchive& loaded) {
  if (!fs::exists(path)) throw_bad_data("reading " + path.string() + ": no such file");
  try {
    loaded.archive.load_from(path.string());
    torch::Tensor header;
    loaded.archive.read("header", header);
    loaded.header = nlohmann::json::parse(tensor_to_bytes(header));
  } catch (const satx::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw_bad_data("reading " + path.string() + ": not a satx training state (" + std::string(e.what()).substr(0, 200) + ")");
  }
  if (loaded.header.value("format", "") != "satx-train-state")
    throw_bad_data("reading " + path.string() + ": not a satx training state");
  if (loaded.header.value("version", 0) > kStateVersion)
    throw_bad_data("reading " + path.string() + ": state version " + std::to_string(loaded.header.value("version", 0)) +
                   " is newer than this satx understands");
}

}  // namespace

void save_train_state(const fs::path& path, const TrainState& state, torch::nn::Module& model,
                      const torch::optim::Optimizer* optimizer, torch::nn::Module* average) {
  torch::serialize::OutputArchive archive;
  auto write_tensors = [&archive](torch::nn::Module& module, const std::string& prefix) {
    nlohmann::json names = nlohmann::json::array();
    const auto tensors = model_tensors(module);
    for (size_t i = 0; i < tensors.size(); ++i) {
      names.push_back(tensors[i].first);
      archive.write(prefix + std::to_string(i), tensors[i].second.detach().to(torch::kCPU), /*is_buffer=*/true);
    }
    return names;
  };
  const nlohmann::json names = write_tensors(model, "t");
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    std::ostringstream bytes;
    optimizer_archive.save_to(bytes);
    archive.write("optimizer", bytes_to_tensor(bytes.str()), true);
  }
  nlohmann::json header = {{"format", "satx-train-state"},
                           {"version", kStateVersion},
                           {"phase", state.phase},
                           {"epoch", state.epoch},
                           {"finished", state.finished},
                           {"has_optimizer", optimizer != nullptr},
                           {"tensor_names", names},
                           {"trainer", state.trainer}};
  if (average) header["average_names"] = write_tensors(*average, "a");
  archive.write("header", bytes_to_tensor(header.dump()), true);
  std::ostringstream out;
  archive.save_to(out);
  write_file_atomic(path, out.str());
}

TrainState read_train_state(const fs::path& path) {
  LoadedArchive loaded;
  load_archive(path, loaded);
  TrainState state;
  try {
    state.phase = loaded.header.at("phase").get<std::string>();
    state.epoch = loaded.header.at("epoch").get<int>();
    state.finished = loaded.header.at("finished").get<bool>();
    state.trainer = loaded.header.at("trainer");
  } catch (const nlohmann::json::exception& e) {
    throw_bad_data("reading " + path.string() + ": malformed state header (" + e.what() + ")");
  }
  return state;
}

void restore_train_state(const fs::path& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                         torch::nn::Module* average) {
  LoadedArchive loaded;
  load_archive(path, loaded);
  torch::NoGradGuard no_grad;
  auto read_tensors = [&](torch::nn::Module& module, const std::string& names_key, const std::string& prefix) {
    const auto names = loaded.header.at(names_key).get<std::vector<std::string>>();
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < names.size(); ++i) index[names[i]] = i;
    for (auto& [name, tensor] : model_tensors(module)) {
      auto it = index.find(name);
      if (it == index.end())
        throw_bad_data("reading " + path.string() + ": no tensor '" + name + "' (a different model?)");
      torch::Tensor saved;
      loaded.archive.read(prefix + std::to_string(it->second), saved);
      if (saved.sizes() != tensor.sizes())
        throw_bad_data("reading " + path.string() + ": tensor '" + name + "' has shape " + c10::str(saved.sizes()) +
                       ", the model expects " + c10::str(tensor.sizes()));
      tensor.copy_(saved);
    }
  };
  read_tensors(model, "tensor_names", "t");
  if (average && loaded.header.contains("average_names")) read_tensors(*average, "average_names", "a");
  if (optimizer && loaded.header.value("has_optimizer", false)) {
    torch::Tensor bytes;
    loaded.archive.read("optimizer", bytes);
    std::istringstream in(tensor_to_bytes(bytes));
    torch::serialize::InputArchive optimizer_archive;
    optimizer_archive.load_from(in);
    optimizer->load(optimizer_archive);
  }
}

}  // namespace satx::train
