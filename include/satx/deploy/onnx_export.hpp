#pragma once
/// ONNX export: a satx model as a standard ONNX graph (the network plus softmax), with the
/// preprocessing it expects in the model's metadata_props (docs/serve.md, "ONNX").

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "satx/models/model_file.hpp"

namespace satx::deploy {

/// How to export.
struct OnnxExportOptions {
  /// ONNX opset of the graph: 13 (the first with Softmax over one axis) to 17 (the newest
  /// Debian's onnx 1.12 checks).
  int opset = 17;
  /// A fixed batch size for the input; 0 leaves it symbolic ("batch": any size per call).
  int64_t batch = 0;
};

/// The graph's single input, float32 [batch, C, input_size, input_size], normalized.
inline constexpr const char* kOnnxInputName = "input";
/// The graph's single output, float32 [batch, classes], softmax probabilities.
inline constexpr const char* kOnnxOutputName = "probabilities";

/// What one export produced.
struct OnnxExportSummary {
  int opset = 0;
  int64_t nodes = 0;
  int64_t initializers = 0;
  int64_t parameters = 0;  ///< the network's parameters (BatchNorm statistics not counted)
  size_t bytes = 0;        ///< the serialized model
};

/// The metadata_props an export writes: the preprocessing (input size, layout, channel order,
/// mean, std), class names, the threshold of a two-class model, provenance. Keys "satx.*".
std::vector<std::pair<std::string, std::string>> onnx_metadata(const models::ModelMetadata& metadata);

/// The serialized ONNX model of `model`, after onnx's checker and shape inference have
/// accepted it and inferred the output as [batch, classes]. Usage error for an opset outside
/// 13..17 or a negative batch; Runtime error naming the module for a layer without an ONNX
/// mapping.
std::string export_onnx_bytes(const models::LoadedModel& model, const OnnxExportOptions& options = {},
                              OnnxExportSummary* summary = nullptr);

/// export_onnx_bytes written atomically to `path` (a failed export leaves no file behind).
OnnxExportSummary export_onnx(const models::LoadedModel& model, const std::filesystem::path& path,
                              const OnnxExportOptions& options = {});

}  // namespace satx::deploy
