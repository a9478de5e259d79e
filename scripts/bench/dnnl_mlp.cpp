// The limit of the library Mithril's cpu backend is built on: an MLP as bare oneDNN matmul
// primitives (bias + ReLU as post-ops, weights reordered once to the layout the primitive asks
// for, format_tag::any), no framework around them. Prints "median_ms min_ms" of RUNS runs.
//
//   dnnl_mlp 1024,4096,4096,1024 256 f32|bf16 RUNS
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: dnnl_mlp DIMS BATCH f32|bf16 RUNS\n");
    return 2;
  }
  std::vector<int64_t> dims;
  std::stringstream list(argv[1]);
  for (std::string item; std::getline(list, item, ',');) dims.push_back(std::stoll(item));
  const int64_t batch = std::stoll(argv[2]);
  const bool bf16 = std::string(argv[3]) == "bf16";
  const int runs = std::atoi(argv[4]);
  if (dims.size() < 2 || batch <= 0 || runs <= 0) return 2;

  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.f, 0.05f);
  auto filled = [&](const memory::desc& d) {
    memory m(d, engine);
    float* p = static_cast<float*>(m.get_data_handle());
    for (std::size_t i = 0; i < d.get_size() / sizeof(float); ++i) p[i] = normal(rng);
    return m;
  };
  dt compute = bf16 ? dt::bf16 : dt::f32;

  struct Layer {
    dnnl::matmul primitive;
    memory src, weights, bias, dst;
    dnnl::reorder to_bf16;  // bf16: the f32 activation converted before each layer
    memory src_f32;
  };
  std::vector<Layer> layers;
  memory input = filled(memory::desc({batch, dims[0]}, dt::f32, tag::ab));
  memory previous = input;
  for (std::size_t i = 1; i < dims.size(); ++i) {
    memory::desc src_d({batch, dims[i - 1]}, compute, tag::ab);
    memory::desc weights_any({dims[i - 1], dims[i]}, compute, tag::any);
    memory::desc bias_d({1, dims[i]}, dt::f32, tag::ab);
    memory::desc dst_d({batch, dims[i]}, dt::f32, tag::ab);
    dnnl::post_ops ops;
    if (i + 1 < dims.size()) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_d, weights_any, bias_d, dst_d), attr, engine);
    Layer layer;
    memory weights_f32 = filled(memory::desc({dims[i - 1], dims[i]}, dt::f32, tag::ab));
    layer.weights = memory(pd.weights_desc(), engine);
    dnnl::reorder(weights_f32, layer.weights).execute(stream, weights_f32, layer.weights);
    layer.bias = filled(bias_d);
    layer.dst = memory(dst_d, engine);
    if (bf16) {
      layer.src_f32 = previous;
      layer.src = memory(src_d, engine);
      layer.to_bf16 = dnnl::reorder(layer.src_f32, layer.src);
    } else {
      layer.src = previous;
    }
    layer.primitive = dnnl::matmul(pd);
    previous = layer.dst;
    layers.push_back(std::move(layer));
  }
  stream.wait();

  std::vector<double> times;
  for (int r = 0; r < runs + 1; ++r) {  // the first run warms up
    auto start = std::chrono::steady_clock::now();
    for (Layer& l : layers) {
      if (bf16) l.to_bf16.execute(stream, l.src_f32, l.src);
      l.primitive.execute(stream, {{DNNL_ARG_SRC, l.src}, {DNNL_ARG_WEIGHTS, l.weights}, {DNNL_ARG_BIAS, l.bias}, {DNNL_ARG_DST, l.dst}});
    }
    stream.wait();
    if (r > 0) times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  std::printf("%.3f %.3f\n", times[times.size() / 2], times.front());
  return 0;
}
