#pragma once
/// Keras Applications weights (`*_weights_tf_dim_ordering_tf_kernels.h5`) for Xception,
/// ResNet50 and MobileNetV2, renamed to satx's state-dict names and transposed to PyTorch
/// layouts (the mapping table is in docs/weights.md). Reading .h5 needs HDF5 (SATX_HAVE_HDF5);
/// the conversion itself does not.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "satx/io/safetensors.hpp"

namespace satx::io {

/// One Keras layer as stored in the file: its name and its weights in Keras order and
/// layout, each under its weight name ("block1_conv1/kernel:0").
struct KerasLayer {
  std::string name;
  std::vector<std::pair<std::string, torch::Tensor>> weights;
};

/// The result of an import.
struct KerasImport {
  std::string arch;               ///< canonical satx arch the layers were mapped to
  TensorList tensors;             ///< satx names, PyTorch layouts, float32
  std::vector<float> mean, std;   ///< the input normalization the Keras model expects, on [0, 1] RGB
  std::vector<std::string> notes; ///< conversions worth telling the user (BGR flip, ...)
};

/// Whether this build can read .h5 files (compiled with HDF5).
bool keras_h5_available();

/// Reads the layers of a Keras weights file: root attribute `layer_names`, each layer group's
/// `weight_names` attribute and the datasets they name, in file order. BadData naming `path`
/// when it is not a Keras weights file; Runtime when built without HDF5.
std::vector<KerasLayer> read_keras_layers(const std::filesystem::path& path);

/// Guesses the arch from Keras layer names ("block14_sepconv2" -> xception); empty if unsure.
std::string guess_keras_arch(const std::vector<KerasLayer>& layers);

/// Maps Keras layers to satx names and layouts for `arch` (empty: guessed). Conv kernels
/// HWIO -> OIHW, depthwise HWC1 -> C1HW, dense (in, out) -> (out, in); BatchNorm
/// gamma/beta/moving_mean/moving_variance -> weight/bias/running_mean/running_var, with the
/// variance shifted so PyTorch's eps (1e-5) gives the same result as Keras's; conv biases
/// before a BatchNorm (Keras ResNet50) are folded into its running mean. Every layer with
/// weights must map and every target name must be filled once, else BadData naming `origin`.
KerasImport convert_keras_layers(const std::vector<KerasLayer>& layers, const std::string& arch,
                                 const std::string& origin);

/// read_keras_layers + convert_keras_layers.
KerasImport read_keras_h5(const std::filesystem::path& path, const std::string& arch = "");

}  // namespace satx::io
