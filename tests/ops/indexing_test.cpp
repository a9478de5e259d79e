// The shape/indexing operators of issue 14 beyond their numpy cases: symbolic inference, the
// errors inference reports, and the kernels' index checks (an index out of range is an error
// naming the operator, the index and the axis, never a read outside the tensor).
#include <catch2/catch.hpp>

#include <cstring>
#include <functional>
#include <limits>

#include "backends/backend.h"
#include "core/error.h"
#include "ops/registry.h"
#include "op_test_util.h"

using namespace mithril;
using mithril::test::infer;
using mithril::test::make;
using mithril::test::run;

namespace {

using Ints = std::vector<int64_t>;

ValueInfo info(DType dtype, SymShape shape) { return {dtype, std::move(shape)}; }
Dim n(int64_t size) { return Dim::known(size); }
Dim named(const char* symbol) { return Dim::named(symbol); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("shape and indexing operators keep symbolic dimensions", "[ops][inference][indexing]") {
  const int64_t max64 = std::numeric_limits<int64_t>::max(), min64 = std::numeric_limits<int64_t>::min();
  const ValueInfo x = info(DType::float32, {named("batch"), n(10), Dim::any()});
  auto shape_of = [](const ValueInfo& v) { return shape_str(v.shape); };
  // A slice that takes a whole symbolic axis (as exporters write it) keeps the symbol.
  CHECK(shape_of(infer("slice", {x}, {{"starts", Ints{0, 2}}, {"ends", Ints{max64, -1}}})) == "[batch,7,null]");
  CHECK(shape_of(infer("slice", {x}, {{"starts", Ints{-1}}, {"ends", Ints{min64}}, {"steps", Ints{-1}}})) == "[batch,10,null]");
  CHECK(shape_of(infer("slice", {x}, {{"starts", Ints{1}}, {"ends", Ints{max64}}})) == "[null,10,null]");
  CHECK(shape_of(infer("slice", {x}, {{"starts", Ints{0}}, {"ends", Ints{100}}, {"axes", Ints{1}}, {"steps", Ints{3}}})) ==
        "[batch,4,null]");
  CHECK(shape_of(infer("expand", {x}, {{"shape", Ints{2, 1, 1, 1}}})) == "[2,batch,10,null]");
  CHECK(shape_of(infer("tile", {x}, {{"repeats", Ints{1, 2, 0}}})) == "[batch,20,0]");
  CHECK(shape_of(infer("pad", {x}, {{"pads", Ints{0, 1, 0, 0, 2, 0}}})) == "[batch,13,null]");
  CHECK(shape_of(infer("gather", {x, info(DType::int64, {n(3), n(2)})}, {{"axis", int64_t{1}}})) == "[batch,3,2,null]");
  CHECK(shape_of(infer("gather_elements", {x, info(DType::int64, {named("batch"), n(4), n(1)})}, {{"axis", int64_t{1}}})) ==
        "[batch,4,1]");
  CHECK(shape_of(infer("gather_nd", {x, info(DType::int64, {named("batch"), n(5), n(1)})}, {{"batch_dims", int64_t{1}}})) ==
        "[batch,5,null]");
  CHECK(shape_of(infer("one_hot", {info(DType::int64, {named("batch"), n(3)}), info(DType::float32, {n(2)})},
                       {{"depth", int64_t{7}}, {"axis", int64_t{1}}})) == "[batch,7,3]");
  CHECK(shape_of(infer("cumsum", {x}, {{"axis", int64_t{1}}})) == "[batch,10,null]");
  CHECK(shape_of(infer("trilu", {x})) == "[batch,10,null]");
  const ValueInfo image = info(DType::float32, {named("batch"), n(3), n(8), n(8)});
  CHECK(shape_of(infer("resize", {image}, {{"sizes", Ints{-1, -1, 16, 12}}, {"mode", std::string("linear")}})) ==
        "[batch,3,16,12]");
  // sizes -1 with a scale other than 1: floor(size * scale), unknown until the size is.
  CHECK(shape_of(infer("resize", {info(DType::float32, {named("batch"), n(3), Dim::any(), n(5)})},
                       {{"sizes", Ints{-1, -1, -1, -1}}, {"scales", std::vector<double>{1, 1, 2, 1.5}}})) == "[batch,3,null,7]");
  CHECK(shape_of(infer("depth_to_space", {info(DType::float32, {named("batch"), n(12), Dim::any(), n(3)})},
                       {{"blocksize", int64_t{2}}})) == "[batch,3,null,6]");
  CHECK(shape_of(infer("space_to_depth", {image}, {{"blocksize", int64_t{2}}})) == "[batch,12,4,4]");
  CHECK(shape_of(infer("einsum", {x, info(DType::float32, {named("batch"), n(10), n(4)})}, {{"equation", std::string("bik,bil->bkl")}})) ==
        "[batch,null,4]");
  ValueInfo top = infer("top_k_indices", {x}, {{"k", int64_t{3}}, {"axis", int64_t{1}}});
  CHECK(shape_of(top) == "[batch,3,null]");
  CHECK(top.dtype == DType::int64);
}

TEST_CASE("shape and indexing operators report what disagrees", "[ops][inference][indexing]") {
  const ValueInfo x = info(DType::float32, {n(2), n(3)});
  const ValueInfo i64 = info(DType::int64, {n(2), n(3)});
  struct Case {
    std::string op;
    Attributes attrs;
    std::vector<ValueInfo> inputs;
    std::string message;
  };
  std::vector<Case> cases = {
      {"slice", {{"starts", Ints{0}}, {"ends", Ints{1, 2}}}, {x}, "slice: starts [0] and ends [1,2] differ in length"},
      {"slice", {{"starts", Ints{0}}, {"ends", Ints{1}}, {"steps", Ints{0}}}, {x}, "slice: a step is 0 in steps [0]"},
      {"slice", {{"starts", Ints{0, 0}}, {"ends", Ints{1, 1}}, {"axes", Ints{1, -1}}}, {x}, "slice: repeated axis -1 in [1,-1]"},
      {"slice", {{"starts", Ints{0}}, {"ends", Ints{1}}, {"axes", Ints{2}}}, {x}, "slice: axis 2 is out of range for rank 2"},
      {"expand", {{"shape", Ints{4, 3}}}, {x}, "expand: cannot broadcast [2,3] with [4,3]"},
      {"tile", {{"repeats", Ints{2}}}, {x}, "tile: repeats [2] must have one entry per axis of [2,3]"},
      {"pad", {{"pads", Ints{1, 1}}}, {x}, "pad: pads [1,1] must have 2 entries per axis of [2,3]"},
      {"pad", {{"pads", Ints{0, -2, 0, -2}}}, {x}, "pad: pads [0,-2,0,-2] crop more than the 3 elements of axis 1"},
      {"pad", {{"pads", Ints{0, 0, 0, 0}}, {"mode", std::string("mirror")}}, {x},
       "pad: mode \"mirror\" is not one of constant, reflect, edge, wrap"},
      {"pad", {{"pads", Ints{0, -3, 0, 1}}, {"mode", std::string("edge")}}, {x},
       "pad: mode edge cannot pad axis 1, which has no elements left"},
      {"gather", {{"axis", int64_t{2}}}, {x, i64}, "axis 2 is out of range for rank 2"},
      {"gather", {}, {x, x}, "gather: indices must be int32 or int64, got float32"},
      {"gather_elements", {}, {x, info(DType::int64, {n(2)})}, "gather_elements: indices [2] and input [2,3] differ in rank"},
      {"gather_elements", {}, {x, info(DType::int64, {n(2), n(4)})}, "gather_elements: indices [2,4] are longer than the input [2,3] in axis 1"},
      {"scatter_elements", {{"reduction", std::string("sum")}}, {x, i64, x}, "scatter_elements: reduction \"sum\" is not one of none, add, mul, max, min"},
      {"scatter_elements", {}, {x, i64, info(DType::float32, {n(2), n(2)})}, "scatter_elements: indices [2,3] and updates [2,2] differ"},
      {"scatter_elements", {{"reduction", std::string("add")}}, {info(DType::bool_, {n(2)}), info(DType::int64, {n(1)}), info(DType::bool_, {n(1)})},
       "scatter_elements: reduction \"add\" needs a numeric input, got bool"},
      {"gather_nd", {}, {x, info(DType::int64, {n(4), n(3)})}, "gather_nd: indices [4,3] address 3 axes of input [2,3] (at most 2)"},
      {"gather_nd", {}, {x, info(DType::int64, {n(4), Dim::any()})}, "gather_nd: the last axis of indices [4,null] must have a known size"},
      {"gather_nd", {{"batch_dims", int64_t{1}}}, {x, info(DType::int64, {n(3), n(1)})}, "gather_nd: input [2,3] and indices [3,1] differ in batch axis 0"},
      {"scatter_nd", {}, {x, info(DType::int64, {n(4), n(1)}), info(DType::float32, {n(4), n(2)})},
       "scatter_nd: updates [4,2] must be [4,3] for input [2,3] and indices [4,1]"},
      {"one_hot", {{"depth", int64_t{0}}}, {i64, info(DType::float32, {n(2)})}, "one_hot: depth 0 is not positive"},
      {"one_hot", {{"depth", int64_t{3}}}, {i64, info(DType::float32, {n(3)})}, "one_hot: values must be [2] (off, on), got [3]"},
      {"trilu", {}, {info(DType::float32, {n(3)})}, "trilu: input must have at least 2 axes, got [3]"},
      {"cumsum", {{"axis", int64_t{0}}}, {info(DType::bool_, {n(3)})}, "cumsum needs a numeric input, got bool"},
      {"cumsum", {}, {x}, "needs attribute 'axis'"},
      {"resize", {{"sizes", Ints{4}}}, {x}, "resize: sizes [4] must have one entry per axis of [2,3]"},
      {"resize", {{"sizes", Ints{4, 6}}, {"mode", std::string("area")}}, {x}, "resize: mode \"area\" is not one of nearest, linear, cubic"},
      {"resize", {{"sizes", Ints{4, 6}}, {"coordinate_transformation_mode", std::string("half_pixel_symmetric")}}, {x},
       "resize: coordinate_transformation_mode \"half_pixel_symmetric\" is not one of"},
      {"resize", {{"sizes", Ints{4, 6}}, {"scales", std::vector<double>{2, 0}}}, {x}, "resize: scales must be positive, got [2,0]"},
      {"resize", {{"sizes", Ints{4, 6}}, {"roi", std::vector<double>{0, 1}}}, {x}, "resize: roi has 2 entries, expected 2 per axis (4)"},
      {"depth_to_space", {{"blocksize", int64_t{2}}}, {info(DType::float32, {n(1), n(3), n(2), n(2)})},
       "depth_to_space: channel count 3 is not a multiple of 4"},
      {"depth_to_space", {{"blocksize", int64_t{2}}}, {x}, "depth_to_space: input must be 4-D [N,C,H,W], got [2,3]"},
      {"space_to_depth", {{"blocksize", int64_t{2}}, {"mode", std::string("XYZ")}}, {info(DType::float32, {n(1), n(1), n(2), n(2)})},
       "space_to_depth: mode \"XYZ\" is not DCR or CRD"},
      {"space_to_depth", {{"blocksize", int64_t{2}}}, {info(DType::float32, {n(1), n(1), n(3), n(2)})},
       "space_to_depth: height 3 is not a multiple of 2"},
      {"top_k_values", {{"k", int64_t{4}}}, {x}, "top_k_values: k 4 is not in 0..3 for axis 1 of [2,3]"},
      {"einsum", {{"equation", std::string("ij,jk")}}, {x}, "einsum: equation \"ij,jk\": 2 terms for 1 inputs"},
      {"einsum", {{"equation", std::string("ijk")}}, {x}, "einsum: equation \"ijk\": term 0 \"ijk\" does not fit an input of rank 2"},
      {"einsum", {{"equation", std::string("ij->k")}}, {x}, "einsum: equation \"ij->k\": output letter 'k' is in no input"},
      {"einsum", {{"equation", std::string("i.j")}}, {x}, "einsum: equation \"i.j\": '.' must come as one \"...\" per term"},
      {"einsum", {{"equation", std::string("ij,ij->ij")}}, {x, info(DType::float32, {n(2), n(4)})},
       "einsum: letter 'j' is [3] in one place and [4] in another"},
      {"einsum", {{"equation", std::string("...i->i")}}, {x}, "einsum: equation \"...i->i\": the inputs' \"...\" axes are missing"},
      // --- operators for ONNX's conformance suite
      {"grid_sample", {}, {x, info(DType::float32, {n(1), n(2), n(2), n(2)})}, "grid_sample: input must be [N, C, H, W], got [2,3]"},
      {"grid_sample", {}, {info(DType::float32, {n(1), n(1), n(4), n(4)}), info(DType::float32, {n(1), n(2), n(2), n(3)})},
       "grid_sample: grid must be [N, H_out, W_out, 2], got [1,2,2,3]"},
      {"grid_sample", {}, {info(DType::float32, {n(2), n(1), n(4), n(4)}), info(DType::float32, {n(3), n(2), n(2), n(2)})},
       "grid_sample: input [2,1,4,4] and grid [3,2,2,2] differ in N"},
      {"grid_sample", {{"mode", std::string("area")}}, {info(DType::float32, {n(1), n(1), n(4), n(4)}), info(DType::float32, {n(1), n(2), n(2), n(2)})},
       "grid_sample: mode \"area\" is not one of bilinear, nearest, bicubic"},
      {"reverse_sequence", {}, {x, info(DType::int64, {n(2)})}, "reverse_sequence: sequence_lens [2] must be [batch] for input [2,3] with batch_axis 1"},
      {"reverse_sequence", {{"batch_axis", int64_t{0}}}, {x, i64}, "reverse_sequence: batch_axis 0 and time_axis 0 must be 0 and 1 in some order"},
      {"det", {}, {x}, "det: input must be square matrices [..., m, m], got [2,3]"},
      {"tf_idf_vectorizer",
       {{"mode", std::string("TF")}, {"min_gram_length", int64_t{1}}, {"max_gram_length", int64_t{2}}, {"max_skip_count", int64_t{0}},
        {"ngram_counts", Ints{0, 3}}, {"ngram_indexes", Ints{0, 1}}, {"pool_int64s", Ints{1, 2, 3, 4}}},
       {info(DType::int64, {n(5)})}, "tf_idf_vectorizer: ngram_counts [0,3] do not split a pool of 4 items into whole n-grams"},
      {"tf_idf_vectorizer",
       {{"mode", std::string("TF")}, {"min_gram_length", int64_t{1}}, {"max_gram_length", int64_t{1}}, {"max_skip_count", int64_t{0}},
        {"ngram_counts", Ints{0}}, {"ngram_indexes", Ints{0, 1000000000}}, {"pool_int64s", Ints{1, 2}}},
       {info(DType::int64, {n(5)})}, "tf_idf_vectorizer: ngram_indexes holds 1000000000, outside [0, 16777216)"},
      {"max_unpool", {{"kernel_size", Ints{2, 2}}, {"output_size", Ints{2, 4}}},
       {info(DType::float32, {n(1), n(1), n(2), n(2)}), info(DType::int64, {n(1), n(1), n(2), n(2)})},
       "max_unpool: output_size [2,4] is smaller than the unpooled size 3 of axis 2"},
  };
  for (const Case& c : cases) {
    INFO(c.op << ": expecting \"" << c.message << "\"");
    std::string message = error_of([&] { infer(c.op, c.inputs, c.attrs); });
    INFO("got \"" << message << "\"");
    CHECK(message.find(c.message) != std::string::npos);
  }
}

TEST_CASE("index operators check every index before reading", "[ops][kernels][indexing]") {
  const Tensor data = make(DType::float32, {2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(error_of([&] { run("gather", {data, make(DType::int64, {2}, {0, 3})}, {{"axis", int64_t{1}}}); }) ==
        "gather: index 3 is out of range for axis 1 of size 3");
  CHECK(error_of([&] { run("gather", {data, make(DType::int32, {1}, {-3})}); }) ==
        "gather: index -3 is out of range for axis 0 of size 2");
  CHECK(error_of([&] { run("gather_elements", {data, make(DType::int64, {1, 2}, {1, -4})}, {{"axis", int64_t{1}}}); }) ==
        "gather_elements: index -4 is out of range for axis 1 of size 3");
  CHECK(error_of([&] {
          run("scatter_elements", {data, make(DType::int64, {1, 1}, {2}), make(DType::float32, {1, 1}, {9})});
        }) == "scatter_elements: index 2 is out of range for axis 0 of size 2");
  CHECK(error_of([&] { run("gather_nd", {data, make(DType::int64, {1, 2}, {1, 5})}); }) ==
        "gather_nd: index 5 is out of range for axis 1 of size 3");
  CHECK(error_of([&] {
          run("scatter_nd", {data, make(DType::int64, {1, 1}, {-3}), make(DType::float32, {1, 3}, {7, 8, 9})});
        }) == "scatter_nd: index -3 is out of range for axis 0 of size 2");
  CHECK(error_of([&] { run("reverse_sequence", {data, make(DType::int64, {3}, {2, 3, 1})}, {{"batch_axis", int64_t{1}}, {"time_axis", int64_t{0}}}); }) ==
        "reverse_sequence: sequence length 3 is outside [0, 2]");
  CHECK(error_of([&] {
          run("max_unpool", {make(DType::float32, {1, 1, 1, 2}, {1, 2}), make(DType::int64, {1, 1, 1, 2}, {0, 8})},
              {{"kernel_size", Ints{2, 2}}, {"stride", Ints{2, 2}}});
        }) == "max_unpool: index 8 is outside the unpooled [1,1,2,4]");
  // one_hot defines out-of-range indices (a row of `off`), as ONNX does.
  Tensor hot = run("one_hot", {make(DType::int64, {3}, {1, 5, -1}), make(DType::float32, {2}, {0, 1})}, {{"depth", int64_t{3}}});
  CHECK(shape_str(hot.shape()) == "[3,3]");
  std::vector<double> got;
  for (int64_t i = 0; i < hot.numel(); ++i) got.push_back(hot.value_at(i));
  CHECK(got == std::vector<double>{0, 1, 0, 0, 0, 0, 0, 0, 1});
}

TEST_CASE("data movement kernels take every dtype", "[ops][kernels][indexing]") {
  // complex and bfloat16 have no numpy case; a reversed slice and a reflect pad copy them bit for bit.
  auto same_bytes = [](const Tensor& a, const Tensor& b) {
    return a.nbytes() == b.nbytes() && std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
  };
  for (DType dtype : {DType::complex128, DType::bfloat16, DType::complex64, DType::uint16}) {
    INFO(dtype_name(dtype));
    Tensor x = make(dtype, {4}, {1, 2, 3, 4});
    Tensor reversed = run("slice", {x}, {{"starts", Ints{-1}}, {"ends", Ints{std::numeric_limits<int64_t>::min()}}, {"steps", Ints{-1}}});
    Tensor padded = run("pad", {x}, {{"pads", Ints{2, 1}}, {"mode", std::string("reflect")}});
    CHECK(same_bytes(reversed, make(dtype, {4}, {4, 3, 2, 1})));
    CHECK(same_bytes(padded, make(dtype, {7}, {3, 2, 1, 2, 3, 4, 3})));
  }
}
