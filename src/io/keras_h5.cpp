#include "satx/io/keras_h5.hpp"

#include <torch/torch.h>

#include "satx/core/error.hpp"

#ifdef SATX_HAVE_HDF5
#include <hdf5.h>
#endif

namespace satx::io {

#ifdef SATX_HAVE_HDF5
namespace {

// Closes an HDF5 handle with the matching function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5 prints its error stack to stderr by default; the library must not print, so printing
// is off while satx reads a file (failures become BadData with our own message).
class QuietErrors {
 public:
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

constexpr hsize_t kMaxStrings = 1'000'000;

// Reads a string-array attribute (fixed-length as h5py writes numpy 'S' arrays, or variable).
std::vector<std::string> string_attribute(hid_t object, const char* name, const std::string& where) {
  if (H5Aexists(object, name) <= 0) throw_bad_data(where + " has no '" + name + "' attribute (not a Keras weights file)");
  Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  Handle space(H5Aget_space(attribute.get()), H5Sclose);
  if (!attribute.valid() || !type.valid() || !space.valid())
    throw_bad_data(where + ": cannot read attribute '" + name + "'");
  // Keras stores a weightless layer's empty list as an empty float array, not strings.
  const hssize_t points = H5Sget_simple_extent_npoints(space.get());
  if (points <= 0) return {};
  if (H5Tget_class(type.get()) != H5T_STRING) throw_bad_data(where + ": attribute '" + name + "' is not a string array");
  const auto count = static_cast<hsize_t>(points);
  if (count > kMaxStrings) throw_bad_data(where + ": attribute '" + name + "' is implausibly long");
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0) {
    std::vector<char*> pointers(count, nullptr);
    Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
    if (H5Aread(attribute.get(), memory.get(), pointers.data()) < 0)
      throw_bad_data(where + ": cannot read attribute '" + name + "'");
    for (char* p : pointers) {
      out.emplace_back(p ? p : "");
      if (p) H5free_memory(p);
    }
  } else {
    const size_t size = H5Tget_size(type.get());
    if (size == 0 || size > 65536) throw_bad_data(where + ": attribute '" + name + "' has odd string size");
    std::vector<char> buffer(count * size);
    if (H5Aread(attribute.get(), type.get(), buffer.data()) < 0)
      throw_bad_data(where + ": cannot read attribute '" + name + "'");
    for (hsize_t i = 0; i < count; ++i) {
      const char* p = buffer.data() + i * size;
      size_t length = 0;
      while (length < size && p[length] != '\0') ++length;
      out.emplace_back(p, length);
    }
  }
  return out;
}

torch::Tensor read_dataset(hid_t group, const std::string& name, const std::string& where) {
  if (H5Lexists(group, name.c_str(), H5P_DEFAULT) <= 0) throw_bad_data(where + ": dataset '" + name + "' is missing");
  Handle dataset(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.valid()) throw_bad_data(where + ": '" + name + "' is not a dataset");
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > 8) throw_bad_data(where + ": dataset '" + name + "' has an unexpected rank");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (hsize_t d : dims) {
    if (d > (uint64_t{1} << 31) || (d && numel > (int64_t{1} << 34) / static_cast<int64_t>(d)))
      throw_bad_data(where + ": dataset '" + name + "' is implausibly large");
    shape.push_back(static_cast<int64_t>(d));
    numel *= static_cast<int64_t>(d);
  }
  Handle type(H5Dget_type(dataset.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_FLOAT && H5Tget_class(type.get()) != H5T_INTEGER)
    throw_bad_data(where + ": dataset '" + name + "' is not numeric");
  torch::Tensor tensor = torch::empty(shape, torch::kFloat);
  // HDF5 converts any stored float or integer type to native float as it reads.
  if (numel > 0 && H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, tensor.data_ptr()) < 0)
    throw_bad_data(where + ": cannot read dataset '" + name + "'");
  return tensor;
}

}  // namespace

bool keras_h5_available() { return true; }

std::vector<KerasLayer> read_keras_layers(const std::filesystem::path& path) {
  const std::string origin = "reading " + path.string();
  QuietErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) throw_bad_data(origin + ": not an HDF5 file");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) throw_bad_data(origin + ": cannot open the HDF5 file");
  // model.save() nests the weights under /model_weights; save_weights() writes them at the root.
  hid_t root_id = file.get();
  Handle nested(H5Lexists(file.get(), "model_weights", H5P_DEFAULT) > 0
                    ? H5Gopen2(file.get(), "model_weights", H5P_DEFAULT)
                    : hid_t{-1},
                H5Gclose);
  if (nested.valid()) root_id = nested.get();

  std::vector<KerasLayer> layers;
  for (const auto& layer_name : string_attribute(root_id, "layer_names", origin)) {
    const std::string where = origin + ": layer '" + layer_name + "'";
    if (H5Lexists(root_id, layer_name.c_str(), H5P_DEFAULT) <= 0) throw_bad_data(where + " is listed but missing");
    Handle group(H5Gopen2(root_id, layer_name.c_str(), H5P_DEFAULT), H5Gclose);
    if (!group.valid()) throw_bad_data(where + " is not a group");
    KerasLayer layer;
    layer.name = layer_name;
    for (const auto& weight : string_attribute(group.get(), "weight_names", where))
      layer.weights.emplace_back(weight, read_dataset(group.get(), weight, where));
    layers.push_back(std::move(layer));
  }
  return layers;
}

#else

bool keras_h5_available() { return false; }

std::vector<KerasLayer> read_keras_layers(const std::filesystem::path& path) {
  throw_runtime("reading " + path.string() + ": this satx was built without HDF5, so it cannot read Keras .h5 files");
}

#endif

KerasImport read_keras_h5(const std::filesystem::path& path, const std::string& arch) {
  return convert_keras_layers(read_keras_layers(path), arch, "reading " + path.string());
}

}  // namespace satx::io
