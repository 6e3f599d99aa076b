#pragma once
// A thin builder over onnx::GraphProto (Debian's libonnx-dev protobuf classes): initializers
// from tensors, nodes with attributes, unique value names.

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include <onnx/onnx_pb.h>
#include <torch/types.h>

namespace satx::deploy::detail {

/// Attribute constructors (ONNX attributes are typed).
onnx::AttributeProto int_attribute(const std::string& name, int64_t value);
onnx::AttributeProto float_attribute(const std::string& name, float value);
onnx::AttributeProto ints_attribute(const std::string& name, const std::vector<int64_t>& values);

/// Adds to a graph it does not own; value names stay unique.
class OnnxGraph {
 public:
  explicit OnnxGraph(onnx::GraphProto& graph) : graph_(graph) {}

  /// A float32 initializer named `name` (a state-dict key) holding a copy of `tensor`.
  /// Returns the name.
  std::string initializer(const std::string& name, const torch::Tensor& tensor);
  /// A scalar float32 initializer (Clip's bounds).
  std::string scalar(const std::string& name, float value);
  /// Appends `op` reading `inputs`; its output is a fresh name derived from `hint`.
  std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                   const std::vector<onnx::AttributeProto>& attributes = {});
  /// Declares a graph input or output of float32 values with `dims` (a negative dim is the
  /// symbolic "batch").
  void input(const std::string& name, const std::vector<int64_t>& dims);
  void output(const std::string& name, const std::vector<int64_t>& dims);

 private:
  std::string fresh(const std::string& hint);

  onnx::GraphProto& graph_;
  std::unordered_set<std::string> names_;
};

}  // namespace satx::deploy::detail
