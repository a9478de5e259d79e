#include "zoo/zoo.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.h"
#include "graph/builder.h"

namespace mithril {
namespace {

const std::vector<ZooEntry> kEntries = {
    {"cnn", "conv2d 3x3 (padding 1) + relu + 2x2 max-pool per channel step, then dense hidden + relu + dense classes",
     {{"channels", "3,32,64", "image channels, then each conv layer's output channels"},
      {"size", "64", "image height and width (divisible by 2 per conv layer)"},
      {"hidden", "128", "width of the hidden dense layer"},
      {"classes", "10", "outputs"},
      {"dtype", "float32", "parameter and input dtype"}}},
    {"linear", "the seed's first model: output = input @ weights + bias",
     {{"in", "10", "input features"}, {"out", "5", "output features"}, {"dtype", "float32", "parameter and input dtype"}}},
    {"mlp", "dense layers layer0..layerN-1 with an activation between them",
     {{"dims", "10,50,1", "layer widths, input first (at least two)"},
      {"activation", "relu", "relu, tanh, sigmoid or gelu"},
      {"dtype", "float32", "parameter and input dtype"}}},
    {"simple_mlp", "the seed's complete-workflow model: dense(50) -> relu -> dense(1)",
     {{"dtype", "float32", "parameter and input dtype"}}},
};

class Args {
 public:
  Args(const ZooEntry& entry, const std::map<std::string, std::string>& given) : entry_(entry) {
    for (const auto& [name, value] : given) {
      bool known = false;
      for (const ZooArg& a : entry.args) known = known || a.name == name;
      if (!known) {
        std::vector<std::string> names;
        for (const ZooArg& a : entry.args) names.push_back(a.name);
        throw Error(ErrorKind::invalid_argument, fmt::format("zoo model '{}' has no argument '{}' (it has: {})",
                                                             entry.name, name, fmt::join(names, ", ")));
      }
    }
    for (const ZooArg& a : entry.args) values_[a.name] = given.count(a.name) ? given.at(a.name) : a.default_value;
  }

  int64_t integer(const std::string& name) const {
    std::vector<int64_t> v = integers(name);
    if (v.size() != 1) throw bad(name, "expected one integer");
    return v[0];
  }

  std::vector<int64_t> integers(const std::string& name) const {
    std::vector<int64_t> out;
    std::string text = values_.at(name);
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t comma = text.find(',', start);
      std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      char* end = nullptr;
      long long v = std::strtoll(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v <= 0) throw bad(name, "expected positive integers separated by commas");
      out.push_back(v);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return out;
  }

  DType dtype() const {
    auto d = dtype_from_name(values_.at("dtype"));
    if (!d || !is_floating(*d) || *d == DType::float16 || *d == DType::bfloat16)
      throw bad("dtype", "expected float32 or float64");
    return *d;
  }

  const std::string& text(const std::string& name) const { return values_.at(name); }

  Error bad(const std::string& name, const std::string& what) const {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("zoo model '{}': argument {}={}: {}", entry_.name, name, values_.at(name), what));
  }

 private:
  const ZooEntry& entry_;
  std::map<std::string, std::string> values_;
};

std::shared_ptr<Model> build_linear(const Args& args) {
  auto model = std::make_shared<Model>("linear");
  DType dtype = args.dtype();
  Value x = model->input("input", {Dim::any(), Dim::known(args.integer("in"))}, dtype);
  Value w = model->parameter("weights", {Dim::known(args.integer("in")), Dim::known(args.integer("out"))}, dtype);
  Value b = model->parameter("bias", {Dim::known(args.integer("out"))}, dtype, Initializer::zeros());
  model->output("output", matmul(x, w) + b);
  return model;
}

std::shared_ptr<Model> build_mlp(const Args& args) {
  std::vector<int64_t> dims = args.integers("dims");
  if (dims.size() < 2) throw args.bad("dims", "expected at least two widths (input and output)");
  std::string activation = args.text("activation");
  if (activation != "relu" && activation != "tanh" && activation != "sigmoid" && activation != "gelu")
    throw args.bad("activation", "expected relu, tanh, sigmoid or gelu");
  auto model = std::make_shared<Model>("mlp");
  Value x = model->input("input", {Dim::any(), Dim::known(dims[0])}, args.dtype());
  for (std::size_t i = 1; i < dims.size(); ++i) {
    x = dense(x, dims[i], "layer" + std::to_string(i - 1));
    if (i + 1 < dims.size()) x = x.model()->apply(activation, {x});
  }
  model->output("output", x);
  return model;
}

// One conv layer as a submodel owning weight [out, in, 3, 3] and bias [1, out, 1, 1].
Value conv_layer(const Value& x, int64_t in, int64_t out, int64_t size, const std::string& name) {
  DType dtype = x.dtype();
  auto layer = std::make_shared<Model>("conv2d_layer");
  Value input = layer->input("input", {Dim::named("batch"), Dim::known(in), Dim::known(size), Dim::known(size)}, dtype);
  // He initialization: variance 2 / fan_in keeps activations in range through relu layers.
  Value w = layer->parameter("weight", {Dim::known(out), Dim::known(in), Dim::known(3), Dim::known(3)}, dtype,
                             Initializer::normal(std::sqrt(2.0 / static_cast<double>(in * 9))));
  Value b = layer->parameter("bias", {Dim::known(1), Dim::known(out), Dim::known(1), Dim::known(1)}, dtype, Initializer::zeros());
  Value y = layer->apply("conv2d", {input, w}, {{"padding", AttrValue{std::vector<int64_t>{1, 1, 1, 1}}}});
  layer->output("output", y + b);
  return x.model()->add_submodel(name, layer, {{"input", x}}).at("output");
}

std::shared_ptr<Model> build_cnn(const Args& args) {
  std::vector<int64_t> channels = args.integers("channels");
  if (channels.size() < 2) throw args.bad("channels", "expected the image channels and at least one conv layer's");
  int64_t size = args.integer("size");
  if (size % (int64_t{1} << (channels.size() - 1)) != 0)
    throw args.bad("size", fmt::format("expected a multiple of {} (halved by each of the {} pooling layers)",
                                       int64_t{1} << (channels.size() - 1), channels.size() - 1));
  auto model = std::make_shared<Model>("cnn");
  Value x = model->input("input", {Dim::any(), Dim::known(channels[0]), Dim::known(size), Dim::known(size)}, args.dtype());
  for (std::size_t i = 1; i < channels.size(); ++i) {
    x = relu(conv_layer(x, channels[i - 1], channels[i], size, "conv" + std::to_string(i - 1)));
    x = model->apply("max_pool2d", {x},
                     {{"kernel_size", AttrValue{std::vector<int64_t>{2, 2}}}, {"stride", AttrValue{std::vector<int64_t>{2, 2}}}});
    size /= 2;
  }
  x = model->apply("flatten", {x}, {{"start_dim", AttrValue{int64_t{1}}}});
  x = relu(dense(x, args.integer("hidden"), "hidden"));
  model->output("output", dense(x, args.integer("classes"), "classifier"));
  return model;
}

std::shared_ptr<Model> build_simple_mlp(const Args& args) {
  auto model = std::make_shared<Model>("simple_mlp");
  Value x = model->input("input", {Dim::any(), Dim::known(10)}, args.dtype());
  Value h = relu(dense(x, 50, "hidden"));
  model->output("output", dense(h, 1, "output_layer"));
  return model;
}

}  // namespace

const std::vector<ZooEntry>& zoo_entries() { return kEntries; }

std::shared_ptr<Model> zoo_model(const std::string& name, const std::map<std::string, std::string>& args) {
  for (const ZooEntry& entry : kEntries) {
    if (entry.name != name) continue;
    Args parsed(entry, args);
    if (name == "linear") return build_linear(parsed);
    if (name == "mlp") return build_mlp(parsed);
    if (name == "cnn") return build_cnn(parsed);
    return build_simple_mlp(parsed);
  }
  std::vector<std::string> names;
  for (const ZooEntry& e : kEntries) names.push_back(e.name);
  throw Error(ErrorKind::invalid_argument, fmt::format("no zoo model '{}' (known: {})", name, fmt::join(names, ", ")));
}

}  // namespace mithril
