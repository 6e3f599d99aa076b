#pragma once
/// Weight files: reading any supported format into named tensors, loading them into a
/// network with every name and shape checked, and identifying a file against the manifests
/// (docs/weights.md).

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "satx/io/model_file.hpp"
#include "satx/io/safetensors.hpp"
#include "satx/models/network.hpp"
#include "satx/models/registry.hpp"

namespace satx::io {

/// The formats read_weights understands.
enum class WeightsFormat { Safetensors, TorchZip, KerasH5 };

/// "safetensors", "pth" or "h5" (the manifests' `format` spelling).
const char* weights_format_name(WeightsFormat format);

/// Detects a file's format by its first bytes (zip or legacy pickle: pth; HDF5 signature: h5;
/// a plausible safetensors header: safetensors). BadData naming `path` when none fits.
WeightsFormat detect_weights_format(const std::filesystem::path& path);

/// Reads a weights file of any supported format into state-dict names and PyTorch layouts:
/// safetensors (satx model files included) as is, torch.save archives via read_torch_pth,
/// Keras .h5 via read_keras_h5 (renamed and transposed; `arch_hint` picks the mapping when
/// the layer names do not tell). BadData naming `path` on failure.
TensorList read_weights(const std::filesystem::path& path, const std::string& arch_hint = "");

/// How load_weights_into treats a file that does not match the network exactly.
struct LoadWeightsOptions {
  /// Leave the network's classification head (manifest().head) as it is and ignore the
  /// file's: for transfer learning, where the class count differs.
  bool skip_head = false;
  /// When the network's first convolution takes C != 3 channels and the file's is RGB,
  /// adapt the file's kernel with models::adapt_input_channels instead of failing.
  bool adapt_input_channels = true;
  /// Accept files without BatchNorm `num_batches_tracked` counters (Keras imports, old
  /// PyTorch files); the network keeps its own.
  bool allow_missing_batch_counters = true;
  /// Names the weights in error messages, e.g. the file path.
  std::string origin = "weights";
};

/// What load_weights_into did.
struct LoadWeightsReport {
  size_t loaded = 0;                  ///< tensors copied into the network
  std::vector<std::string> skipped;   ///< file entries left out (the head, when skip_head)
  bool adapted_input = false;         ///< the first convolution was adapted to in_channels
};

/// Copies `tensors` into the network's parameters and buffers (dtype converted, device kept),
/// after checking all of them: every network entry present, no unexpected entry, equal
/// shapes. On any mismatch nothing is copied and BadData lists the missing, unexpected and
/// mis-shaped names (the first 10 of each, with counts).
LoadWeightsReport load_weights_into(models::Network& network, const TensorList& tensors,
                                    const LoadWeightsOptions& options = {});

/// Incremental SHA-256 (FIPS 180-4).
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  /// The digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> finish();
  /// Lower-case hex of finish().
  std::string hex();

 private:
  void block(const uint8_t* data);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;
};

/// Lower-case hex SHA-256 of bytes.
std::string sha256_hex(const void* data, size_t size);

/// Lower-case hex SHA-256 of a file's contents; BadData naming `path` when unreadable.
std::string sha256_file(const std::filesystem::path& path);

/// A weights file recognised from the manifests.
struct IdentifiedWeights {
  const models::Manifest* manifest = nullptr;
  const models::WeightFile* file = nullptr;
  std::string sha256;           ///< the file's full digest
  std::vector<float> mean;      ///< the normalization those weights expect (file's, else the arch's)
  std::vector<float> std;
};

/// Finds the manifest entry whose `sha256` equals the file's digest or is a prefix of it
/// (at least 8 hex digits, as torch.hub names publish). `digest` may be passed when already
/// known. nullopt when no entry matches.
std::optional<IdentifiedWeights> identify_weights(const std::filesystem::path& path, const std::string& digest = "");

/// What `satx weights import` builds a model file from.
struct ImportWeightsOptions {
  std::string arch;                  ///< arch name or alias (Usage error when unknown)
  std::filesystem::path weights;     ///< .pth, .safetensors or Keras .h5
  /// Class names in logit order. Empty: class_0..class_N-1 from the weights' head. Required
  /// when the weights have no head (a new one is then initialized randomly).
  std::vector<std::string> classes;
  int input_size = 0;                ///< 0: the arch's default
  int in_channels = 3;               ///< != 3 adapts the first convolution
};

/// A network filled from a weights file, with the metadata a model file needs.
struct ImportedWeights {
  std::shared_ptr<models::Network> network;  ///< eval mode, CPU
  ModelMetadata metadata;                    ///< normalization from the identified file, else the arch's
  std::optional<IdentifiedWeights> identified;
  std::vector<std::string> notes;            ///< things worth telling the user, one line each
};

/// Reads `options.weights`, keeps its classification head when it has one, identifies the
/// file against the manifests for its normalization, and loads everything into a new network
/// (strict: BadData listing any mismatch). Usage errors for class names that do not fit the
/// head and for a headless file without class names.
ImportedWeights import_weights(const ImportWeightsOptions& options);

}  // namespace satx::io
