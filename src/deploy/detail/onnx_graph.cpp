#include "deploy/detail/onnx_graph.hpp"

#include "satx/core/error.hpp"

namespace satx::deploy::detail {

namespace {

onnx::AttributeProto typed_attribute(const std::string& name, onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto attribute;
  attribute.set_name(name);
  attribute.set_type(type);
  return attribute;
}

}  // namespace

onnx::AttributeProto int_attribute(const std::string& name, int64_t value) {
  onnx::AttributeProto attribute = typed_attribute(name, onnx::AttributeProto::INT);
  attribute.set_i(value);
  return attribute;
}

onnx::AttributeProto float_attribute(const std::string& name, float value) {
  onnx::AttributeProto attribute = typed_attribute(name, onnx::AttributeProto::FLOAT);
  attribute.set_f(value);
  return attribute;
}

onnx::AttributeProto ints_attribute(const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto attribute = typed_attribute(name, onnx::AttributeProto::INTS);
  for (int64_t value : values) attribute.add_ints(value);
  return attribute;
}

std::string OnnxGraph::fresh(const std::string& hint) {
  std::string name = hint;
  for (int suffix = 1; names_.count(name) != 0; ++suffix) name = hint + "_" + std::to_string(suffix);
  names_.insert(name);
  return name;
}

std::string OnnxGraph::initializer(const std::string& name, const torch::Tensor& tensor) {
  if (names_.count(name) != 0) throw_runtime("ONNX export: the tensor " + name + " was written twice");
  names_.insert(name);
  // ONNX raw_data is little-endian float32, the host layout of every platform satx builds on.
  const torch::Tensor values = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
  onnx::TensorProto* proto = graph_.add_initializer();
  proto->set_name(name);
  proto->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t size : values.sizes()) proto->add_dims(size);
  proto->set_raw_data(values.data_ptr(), static_cast<size_t>(values.numel()) * sizeof(float));
  return name;
}

std::string OnnxGraph::scalar(const std::string& name, float value) {
  if (names_.count(name) != 0) return name;
  return initializer(name, torch::tensor(value));
}

std::string OnnxGraph::node(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                            const std::vector<onnx::AttributeProto>& attributes) {
  const std::string output = fresh(hint);
  onnx::NodeProto* node = graph_.add_node();
  node->set_op_type(op);
  node->set_name(output);
  for (const auto& input : inputs) node->add_input(input);
  node->add_output(output);
  for (const auto& attribute : attributes) *node->add_attribute() = attribute;
  return output;
}

namespace {

void describe(onnx::ValueInfoProto* value, const std::string& name, const std::vector<int64_t>& dims) {
  value->set_name(name);
  onnx::TypeProto_Tensor* type = value->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t dim : dims) {
    onnx::TensorShapeProto_Dimension* shape_dim = type->mutable_shape()->add_dim();
    if (dim < 0) shape_dim->set_dim_param("batch");
    else shape_dim->set_dim_value(dim);
  }
}

}  // namespace

void OnnxGraph::input(const std::string& name, const std::vector<int64_t>& dims) {
  if (names_.count(name) != 0) throw_runtime("ONNX export: the input name " + name + " is taken");
  names_.insert(name);
  describe(graph_.add_input(), name, dims);
}

void OnnxGraph::output(const std::string& name, const std::vector<int64_t>& dims) {
  describe(graph_.add_output(), name, dims);
}

}  // namespace satx::deploy::detail
