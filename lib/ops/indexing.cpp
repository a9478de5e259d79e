// Indexing operators for ONNX models: gather_elements, scatter_elements, gather_nd, scatter_nd,
// one_hot, trilu, cumsum, resize, top_k_values / top_k_indices; plus the helpers of indexing.h.
// Index values are data: inference checks their dtype and the shapes, the kernels check every
// index against its axis.
#include "ops/indexing.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <string>

#include "core/error.h"
#include "ops/families.h"
#include "ops/shape_inference.h"

namespace mithril {

SliceAxis slice_axis(int64_t size, int64_t start, int64_t end, int64_t step) {
  if (start < 0) start = start < -size ? -1 : start + size;  // stays below 0: clamped next
  if (end < 0) end = end < -size ? -1 : end + size;
  SliceAxis result;
  result.step = step;
  if (size == 0) return result;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, size);
    end = std::clamp<int64_t>(end, 0, size);
    result.count = end > start ? (end - start - 1) / step + 1 : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, size - 1);
    end = std::clamp<int64_t>(end, -1, size - 1);
    // -(step) may overflow for INT64_MIN: compute with the distance, which is at most size.
    uint64_t magnitude = static_cast<uint64_t>(-(step + 1)) + 1;
    result.count = start > end ? static_cast<int64_t>((static_cast<uint64_t>(start - end) - 1) / magnitude + 1) : 0;
  }
  result.start = start;
  if (result.count == 0) result.start = 0;
  return result;
}

SliceSpec slice_spec(const Attributes& attrs, int64_t rank) {
  SliceSpec spec;
  spec.starts = attr_ints(attrs, "starts");
  spec.ends = attr_ints(attrs, "ends");
  if (spec.starts.size() != spec.ends.size())
    throw Error(ErrorKind::shape, "slice: starts " + ints_str(spec.starts) + " and ends " + ints_str(spec.ends) +
                                      " differ in length");
  std::size_t n = spec.starts.size();
  if (attr_is_null(attrs, "axes")) {
    if (static_cast<int64_t>(n) > rank)
      throw Error(ErrorKind::shape, "slice: " + std::to_string(n) + " starts for an input of rank " + std::to_string(rank));
    for (std::size_t a = 0; a < n; ++a) spec.axes.push_back(static_cast<int64_t>(a));
  } else {
    std::vector<int64_t> axes = attr_ints(attrs, "axes");
    if (axes.size() != n)
      throw Error(ErrorKind::shape, "slice: axes " + ints_str(axes) + " and starts " + ints_str(spec.starts) +
                                        " differ in length");
    try {
      spec.axes = normalize_axes(axes, rank);
    } catch (const Error& e) {
      throw Error(ErrorKind::shape, "slice: " + std::string(e.what()));
    }
  }
  if (attr_is_null(attrs, "steps")) {
    spec.steps.assign(n, 1);
  } else {
    spec.steps = attr_ints(attrs, "steps");
    if (spec.steps.size() != n)
      throw Error(ErrorKind::shape, "slice: steps " + ints_str(spec.steps) + " and starts " + ints_str(spec.starts) +
                                        " differ in length");
    for (int64_t s : spec.steps)
      if (s == 0) throw Error(ErrorKind::shape, "slice: a step is 0 in steps " + ints_str(spec.steps));
  }
  return spec;
}

namespace {

const char* const kResizeModes[] = {"nearest", "linear", "cubic"};
const char* const kCoordinateModes[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                                        "tf_crop_and_resize", "tf_half_pixel_for_nn"};
const char* const kNearestModes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};

template <std::size_t N>
void require_one_of(const std::string& op, const char* attr, const std::string& value, const char* const (&names)[N]) {
  std::string list;
  for (const char* name : names) {
    if (value == name) return;
    list += (list.empty() ? "" : ", ") + std::string(name);
  }
  throw Error(ErrorKind::shape, op + ": " + attr + " \"" + value + "\" is not one of " + list);
}

}  // namespace

std::vector<ResizeAxis> resize_axes(const Shape& input, const Attributes& attrs) {
  std::vector<int64_t> sizes = attr_ints(attrs, "sizes");
  std::vector<double> scales = attr_numbers(attrs, "scales");
  std::vector<double> roi = attr_numbers(attrs, "roi");
  std::size_t rank = input.size();
  if (sizes.size() != rank)
    throw Error(ErrorKind::shape, "resize: sizes " + ints_str(sizes) + " must have one entry per axis of " + shape_str(input));
  if (!scales.empty() && scales.size() != rank)
    throw Error(ErrorKind::shape, "resize: scales has " + std::to_string(scales.size()) + " entries for an input of rank " +
                                      std::to_string(rank));
  if (!roi.empty() && roi.size() != 2 * rank)
    throw Error(ErrorKind::shape, "resize: roi has " + std::to_string(roi.size()) + " entries, expected 2 per axis (" +
                                      std::to_string(2 * rank) + ")");
  std::vector<ResizeAxis> axes(rank);
  for (std::size_t a = 0; a < rank; ++a) {
    ResizeAxis& r = axes[a];
    r.in = input[a];
    if (sizes[a] < -1) throw Error(ErrorKind::shape, "resize: negative size in sizes " + ints_str(sizes));
    if (!scales.empty()) {
      if (!(scales[a] > 0)) throw Error(ErrorKind::shape, "resize: scales must be positive, got " + attr_str(scales));
      r.scale = scales[a];
      r.out = sizes[a] == -1 ? static_cast<int64_t>(std::floor(static_cast<double>(r.in) * r.scale)) : sizes[a];
    } else {
      r.out = sizes[a] == -1 ? r.in : sizes[a];
      r.scale = r.in > 0 ? static_cast<double>(r.out) / static_cast<double>(r.in) : 1.0;
    }
    r.output_width = r.scale * static_cast<double>(r.in);
    if (!roi.empty()) {
      r.roi_start = roi[a];
      r.roi_end = roi[a + rank];
    }
  }
  return axes;
}

// ONNX's reference (onnx/backend/test/case/node/resize.py) written out per mode.
double resize_source_coordinate(const ResizeAxis& r, const std::string& mode, int64_t x_index) {
  double x = static_cast<double>(x_index);
  double in = static_cast<double>(r.in);
  if (mode == "align_corners") return r.output_width == 1 ? 0.0 : x * (in - 1) / (r.output_width - 1);
  if (mode == "asymmetric") return x / r.scale;
  if (mode == "pytorch_half_pixel") return r.output_width == 1 ? -0.5 : (x + 0.5) / r.scale - 0.5;
  if (mode == "tf_half_pixel_for_nn") return (x + 0.5) / r.scale;  // opset 11 only
  if (mode == "tf_crop_and_resize") {
    double span = r.roi_end - r.roi_start;
    double coordinate = r.output_width == 1 ? span * (in - 1) / 2 : x * span * (in - 1) / (r.output_width - 1);
    return coordinate + r.roi_start * (in - 1);
  }
  return (x + 0.5) / r.scale - 0.5;  // half_pixel
}

EinsumSpec parse_einsum(const std::string& equation, const std::vector<int64_t>& ranks) {
  auto fail = [&](const std::string& what) {
    throw Error(ErrorKind::shape, "einsum: equation \"" + equation + "\": " + what);
  };
  std::string text;
  for (char ch : equation)
    if (ch != ' ') text += ch;
  // "..." becomes one kEllipsis; any other '.' is malformed.
  auto term_of = [&](const std::string& raw) {
    std::string term;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      char ch = raw[i];
      if (ch == '.') {
        if (raw.compare(i, 3, "...") != 0 || term.find(EinsumSpec::kEllipsis) != std::string::npos)
          fail("'.' must come as one \"...\" per term");
        term += EinsumSpec::kEllipsis;
        i += 2;
      } else if (std::isalpha(static_cast<unsigned char>(ch))) {
        term += ch;
      } else {
        fail(std::string("unexpected character '") + ch + "'");
      }
    }
    return term;
  };
  EinsumSpec spec;
  std::size_t arrow = text.find("->");
  std::string left = text.substr(0, arrow);
  for (std::size_t start = 0;;) {
    std::size_t comma = left.find(',', start);
    spec.terms.push_back(term_of(left.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (spec.terms.size() != ranks.size())
    fail(std::to_string(spec.terms.size()) + " terms for " + std::to_string(ranks.size()) + " inputs");
  std::map<char, int> counts;
  for (std::size_t k = 0; k < spec.terms.size(); ++k) {
    const std::string& term = spec.terms[k];
    bool ellipsis = term.find(EinsumSpec::kEllipsis) != std::string::npos;
    auto letters = static_cast<int64_t>(term.size()) - (ellipsis ? 1 : 0);
    if (letters > ranks[k] || (!ellipsis && letters != ranks[k]))
      fail("term " + std::to_string(k) + " \"" + term + "\" does not fit an input of rank " + std::to_string(ranks[k]));
    spec.ellipsis_ranks.push_back(ranks[k] - letters);
    spec.ellipsis_rank = std::max(spec.ellipsis_rank, ranks[k] - letters);
    for (char ch : term)
      if (ch != EinsumSpec::kEllipsis) ++counts[ch];
  }
  if (arrow != std::string::npos) {
    spec.output = term_of(text.substr(arrow + 2));
    for (char ch : spec.output) {
      if (ch == EinsumSpec::kEllipsis) continue;
      if (!counts.count(ch)) fail(std::string("output letter '") + ch + "' is in no input");
      if (std::count(spec.output.begin(), spec.output.end(), ch) > 1) fail(std::string("output letter '") + ch + "' repeats");
    }
    if (spec.ellipsis_rank > 0 && spec.output.find(EinsumSpec::kEllipsis) == std::string::npos)
      fail("the inputs' \"...\" axes are missing from the output");
  } else {
    if (spec.ellipsis_rank > 0) spec.output += EinsumSpec::kEllipsis;
    std::vector<char> once;
    for (const auto& [ch, count] : counts)
      if (count == 1) once.push_back(ch);
    // numpy's order: upper case before lower case (ASCII), which std::map already gives.
    spec.output.append(once.begin(), once.end());
  }
  return spec;
}

namespace {

void require_indices(const std::string& op, DType dtype) {
  if (dtype != DType::int32 && dtype != DType::int64)
    throw Error(ErrorKind::shape, op + ": indices must be int32 or int64, got " + std::string(dtype_name(dtype)));
}

// For the axes (other than `skip`) of same-rank indices and data: indices may not be longer.
void require_within(const std::string& op, const SymShape& indices, const SymShape& data, int64_t skip) {
  for (std::size_t a = 0; a < data.size(); ++a)
    if (static_cast<int64_t>(a) != skip && indices[a].is_known() && data[a].is_known() && indices[a].size > data[a].size)
      throw Error(ErrorKind::shape, op + ": indices " + shape_str(indices) + " are longer than the input " +
                                        shape_str(data) + " in axis " + std::to_string(a));
}

void check_reduction(const std::string& op, const Attributes& attrs, DType dtype) {
  const std::string& reduction = attr_string(attrs, "reduction");
  const char* const names[] = {"none", "add", "mul", "max", "min"};
  require_one_of(op, "reduction", reduction, names);
  if (reduction != "none" && dtype == DType::bool_)
    throw Error(ErrorKind::shape, op + ": reduction \"" + reduction + "\" needs a numeric input, got bool");
}

ValueInfo infer_gather_elements(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_indices("gather_elements", in[1].dtype);
  const SymShape &data = in[0].shape, &indices = in[1].shape;
  if (data.empty()) throw Error(ErrorKind::shape, "gather_elements: cannot index a 0-d value");
  if (indices.size() != data.size())
    throw Error(ErrorKind::shape, "gather_elements: indices " + shape_str(indices) + " and input " + shape_str(data) +
                                      " differ in rank");
  int64_t axis = normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(data.size()));
  require_within("gather_elements", indices, data, axis);
  return ValueInfo{in[0].dtype, indices};
}

ValueInfo infer_scatter_elements(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_indices("scatter_elements", in[1].dtype);
  require_same_dtype(in[0].dtype, in[2].dtype);
  check_reduction("scatter_elements", attrs, in[0].dtype);
  const SymShape &data = in[0].shape, &indices = in[1].shape, &updates = in[2].shape;
  if (data.empty()) throw Error(ErrorKind::shape, "scatter_elements: cannot index a 0-d value");
  if (indices.size() != data.size() || updates.size() != data.size())
    throw Error(ErrorKind::shape, "scatter_elements: input " + shape_str(data) + ", indices " + shape_str(indices) +
                                      " and updates " + shape_str(updates) + " differ in rank");
  for (std::size_t a = 0; a < indices.size(); ++a)
    if (!unify_dim(indices[a], updates[a]))
      throw Error(ErrorKind::shape, "scatter_elements: indices " + shape_str(indices) + " and updates " +
                                        shape_str(updates) + " differ");
  int64_t axis = normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(data.size()));
  require_within("scatter_elements", indices, data, axis);
  return in[0];
}

// The index depth k = indices.shape[-1] of gather_nd / scatter_nd, checked against the input.
int64_t nd_depth(const std::string& op, const SymShape& data, const SymShape& indices, int64_t batch_dims) {
  if (indices.empty()) throw Error(ErrorKind::shape, op + ": indices must have at least one axis");
  if (!indices.back().is_known())
    throw Error(ErrorKind::shape, op + ": the last axis of indices " + shape_str(indices) + " must have a known size");
  int64_t k = indices.back().size;
  auto rank = static_cast<int64_t>(data.size());
  if (batch_dims < 0 || batch_dims >= static_cast<int64_t>(indices.size()) || batch_dims > rank)
    throw Error(ErrorKind::shape, op + ": batch_dims " + std::to_string(batch_dims) + " does not fit input " +
                                      shape_str(data) + " and indices " + shape_str(indices));
  if (k < 1 || k > rank - batch_dims)
    throw Error(ErrorKind::shape, op + ": indices " + shape_str(indices) + " address " + std::to_string(k) +
                                      " axes of input " + shape_str(data) + " (at most " +
                                      std::to_string(rank - batch_dims) + ")");
  for (std::size_t a = 0; a < static_cast<std::size_t>(batch_dims); ++a)
    if (!unify_dim(data[a], indices[a]))
      throw Error(ErrorKind::shape, op + ": input " + shape_str(data) + " and indices " + shape_str(indices) +
                                        " differ in batch axis " + std::to_string(a));
  return k;
}

ValueInfo infer_gather_nd(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_indices("gather_nd", in[1].dtype);
  const SymShape &data = in[0].shape, &indices = in[1].shape;
  int64_t b = attr_int(attrs, "batch_dims");
  int64_t k = nd_depth("gather_nd", data, indices, b);
  SymShape out(indices.begin(), indices.end() - 1);
  out.insert(out.end(), data.begin() + b + k, data.end());
  return ValueInfo{in[0].dtype, out};
}

ValueInfo infer_scatter_nd(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_indices("scatter_nd", in[1].dtype);
  require_same_dtype(in[0].dtype, in[2].dtype);
  check_reduction("scatter_nd", attrs, in[0].dtype);
  const SymShape &data = in[0].shape, &indices = in[1].shape, &updates = in[2].shape;
  int64_t k = nd_depth("scatter_nd", data, indices, 0);
  SymShape expected(indices.begin(), indices.end() - 1);
  expected.insert(expected.end(), data.begin() + k, data.end());
  bool agree = expected.size() == updates.size();
  for (std::size_t a = 0; agree && a < updates.size(); ++a) agree = unify_dim(expected[a], updates[a]).has_value();
  if (!agree)
    throw Error(ErrorKind::shape, "scatter_nd: updates " + shape_str(updates) + " must be " + shape_str(expected) +
                                      " for input " + shape_str(data) + " and indices " + shape_str(indices));
  return in[0];
}

ValueInfo infer_one_hot(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_numeric("one_hot", in[0].dtype);
  const SymShape& values = in[1].shape;
  if (values.size() != 1 || (values[0].is_known() && values[0].size != 2))
    throw Error(ErrorKind::shape, "one_hot: values must be [2] (off, on), got " + shape_str(values));
  int64_t depth = attr_int(attrs, "depth");
  if (depth < 1) throw Error(ErrorKind::shape, "one_hot: depth " + std::to_string(depth) + " is not positive");
  SymShape out = in[0].shape;
  int64_t axis = normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(out.size()) + 1);
  out.insert(out.begin() + axis, Dim::known(depth));
  return ValueInfo{in[1].dtype, out};
}

ValueInfo infer_trilu(const std::vector<ValueInfo>& in, const Attributes&) {
  if (in[0].shape.size() < 2)
    throw Error(ErrorKind::shape, "trilu: input must have at least 2 axes, got " + shape_str(in[0].shape));
  return in[0];
}

ValueInfo infer_cumsum(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_numeric("cumsum", in[0].dtype);
  if (in[0].shape.empty()) throw Error(ErrorKind::shape, "cumsum: input must have at least one axis");
  normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(in[0].shape.size()));
  return in[0];
}

ValueInfo infer_resize(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_numeric("resize", in[0].dtype);
  require_one_of("resize", "mode", attr_string(attrs, "mode"), kResizeModes);
  require_one_of("resize", "coordinate_transformation_mode", attr_string(attrs, "coordinate_transformation_mode"),
                 kCoordinateModes);
  require_one_of("resize", "nearest_mode", attr_string(attrs, "nearest_mode"), kNearestModes);
  const SymShape& input = in[0].shape;
  // Checks the attributes on a stand-in shape; unknown dimensions stay unknown (or keep their symbol
  // for sizes -1 at scale 1).
  Shape stand_in;
  for (const Dim& d : input) stand_in.push_back(d.is_known() ? d.size : 1);
  std::vector<ResizeAxis> axes = resize_axes(stand_in, attrs);
  std::vector<double> scales = attr_numbers(attrs, "scales");
  SymShape out;
  for (std::size_t a = 0; a < input.size(); ++a) {
    bool from_input = attr_ints(attrs, "sizes")[a] == -1;
    if (from_input && (scales.empty() || scales[a] == 1.0)) out.push_back(input[a]);
    else if (from_input && !input[a].is_known()) out.push_back(Dim::any());  // floor(size * scale) once known
    else out.push_back(Dim::known(axes[a].out));
  }
  return ValueInfo{in[0].dtype, out};
}

// --- grid_sample, reverse_sequence, tf_idf_vectorizer (ONNX GridSample, ReverseSequence, TfIdfVectorizer)

const char* const kGridSampleModes[] = {"bilinear", "nearest", "bicubic"};
const char* const kGridSamplePadding[] = {"zeros", "border", "reflection"};
const char* const kTfIdfModes[] = {"TF", "IDF", "TFIDF"};
/// Output columns tf_idf_vectorizer accepts: ngram_indexes are data, and a stray large one must not
/// become a huge allocation.
constexpr int64_t kMaxTfIdfColumns = int64_t{1} << 24;

ValueInfo infer_grid_sample(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_floating("grid_sample", in[0].dtype);
  require_floating("grid_sample", in[1].dtype);
  require_one_of("grid_sample", "mode", attr_string(attrs, "mode"), kGridSampleModes);
  require_one_of("grid_sample", "padding_mode", attr_string(attrs, "padding_mode"), kGridSamplePadding);
  const SymShape &x = in[0].shape, &grid = in[1].shape;
  if (x.size() != 4) throw Error(ErrorKind::shape, "grid_sample: input must be [N, C, H, W], got " + shape_str(x));
  if (grid.size() != 4 || !unify_dim(grid[3], Dim::known(2)))
    throw Error(ErrorKind::shape, "grid_sample: grid must be [N, H_out, W_out, 2], got " + shape_str(grid));
  std::optional<Dim> n = unify_dim(x[0], grid[0]);
  if (!n)
    throw Error(ErrorKind::shape, "grid_sample: input " + shape_str(x) + " and grid " + shape_str(grid) + " differ in N");
  return ValueInfo{in[0].dtype, SymShape{*n, x[1], grid[1], grid[2]}};
}

ValueInfo infer_reverse_sequence(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_indices("reverse_sequence", in[1].dtype);
  const SymShape &x = in[0].shape, &lengths = in[1].shape;
  if (x.size() < 2) throw Error(ErrorKind::shape, "reverse_sequence: input must have at least 2 axes, got " + shape_str(x));
  int64_t batch = attr_int(attrs, "batch_axis"), time = attr_int(attrs, "time_axis");
  if ((batch != 0 && batch != 1) || (time != 0 && time != 1) || batch == time)
    throw Error(ErrorKind::shape, "reverse_sequence: batch_axis " + std::to_string(batch) + " and time_axis " + std::to_string(time) +
                                      " must be 0 and 1 in some order");
  if (lengths.size() != 1 || !unify_dim(lengths[0], x[static_cast<std::size_t>(batch)]))
    throw Error(ErrorKind::shape, "reverse_sequence: sequence_lens " + shape_str(lengths) + " must be [batch] for input " + shape_str(x) +
                                      " with batch_axis " + std::to_string(batch));
  return in[0];
}

// The n-gram pool of tf_idf_vectorizer's attributes, checked: pool_int64s holds the n-grams of
// length 1 from ngram_counts[0], of length 2 from ngram_counts[1], and so on; ngram_indexes maps
// each n-gram, in pool order, to its output column.
int64_t tf_idf_columns(const Attributes& attrs) {
  auto fail = [](const std::string& what) { throw Error(ErrorKind::shape, "tf_idf_vectorizer: " + what); };
  require_one_of("tf_idf_vectorizer", "mode", attr_string(attrs, "mode"), kTfIdfModes);
  int64_t lo = attr_int(attrs, "min_gram_length"), hi = attr_int(attrs, "max_gram_length");
  if (lo < 1 || hi < lo) fail("min_gram_length " + std::to_string(lo) + " and max_gram_length " + std::to_string(hi) + " must satisfy 1 <= min <= max");
  if (attr_int(attrs, "max_skip_count") < 0) fail("max_skip_count is negative");
  std::vector<int64_t> counts = attr_ints(attrs, "ngram_counts"), indexes = attr_ints(attrs, "ngram_indexes");
  auto pool = static_cast<int64_t>(attr_ints(attrs, "pool_int64s").size());
  int64_t grams = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    int64_t begin = counts[i], end = i + 1 < counts.size() ? counts[i + 1] : pool;
    auto n = static_cast<int64_t>(i) + 1;
    if (begin < 0 || end < begin || end > pool || (end - begin) % n != 0)
      fail("ngram_counts " + ints_str(counts) + " do not split a pool of " + std::to_string(pool) + " items into whole n-grams");
    grams += (end - begin) / n;
  }
  if (static_cast<int64_t>(indexes.size()) != grams)
    fail("ngram_indexes has " + std::to_string(indexes.size()) + " entries for " + std::to_string(grams) + " n-grams in the pool");
  std::vector<double> weights = attr_numbers(attrs, "weights");
  if (!weights.empty() && weights.size() != indexes.size())
    fail("weights has " + std::to_string(weights.size()) + " entries, expected one per n-gram (" + std::to_string(indexes.size()) + ")");
  int64_t columns = 0;
  for (int64_t i : indexes) {
    if (i < 0 || i >= kMaxTfIdfColumns) fail("ngram_indexes holds " + std::to_string(i) + ", outside [0, " + std::to_string(kMaxTfIdfColumns) + ")");
    columns = std::max(columns, i + 1);
  }
  return columns;
}

ValueInfo infer_tf_idf_vectorizer(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  if (in[0].dtype != DType::int32 && in[0].dtype != DType::int64)
    throw Error(ErrorKind::shape, "tf_idf_vectorizer: input must be int32 or int64, got " + std::string(dtype_name(in[0].dtype)));
  const SymShape& x = in[0].shape;
  if (x.size() != 1 && x.size() != 2) throw Error(ErrorKind::shape, "tf_idf_vectorizer: input must be [C] or [N, C], got " + shape_str(x));
  Dim columns = Dim::known(tf_idf_columns(attrs));
  return ValueInfo{DType::float32, x.size() == 1 ? SymShape{columns} : SymShape{x[0], columns}};
}

ValueInfo infer_top_k(const std::vector<ValueInfo>& in, const Attributes& attrs, bool indices) {
  const char* op = indices ? "top_k_indices" : "top_k_values";
  require_numeric(op, in[0].dtype);
  SymShape out = in[0].shape;
  if (out.empty()) throw Error(ErrorKind::shape, std::string(op) + ": input must have at least one axis");
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(out.size())));
  int64_t k = attr_int(attrs, "k");
  if (k < 0 || (out[axis].is_known() && k > out[axis].size))
    throw Error(ErrorKind::shape, std::string(op) + ": k " + std::to_string(k) + " is not in 0.." +
                                      (out[axis].is_known() ? std::to_string(out[axis].size) : "size") + " for axis " +
                                      std::to_string(axis) + " of " + shape_str(out));
  out[axis] = Dim::known(k);
  return ValueInfo{indices ? DType::int64 : in[0].dtype, out};
}

ValueInfo infer_einsum(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  std::vector<int64_t> ranks;
  for (const ValueInfo& v : in) {
    require_same_dtype(in[0].dtype, v.dtype);
    ranks.push_back(static_cast<int64_t>(v.shape.size()));
  }
  require_numeric("einsum", in[0].dtype);
  EinsumSpec spec = parse_einsum(attr_string(attrs, "equation"), ranks);
  std::map<char, Dim> sizes;
  std::vector<SymShape> ellipses;
  for (std::size_t k = 0; k < in.size(); ++k) {
    const SymShape& shape = in[k].shape;
    std::size_t axis = 0;
    for (char ch : spec.terms[k]) {
      if (ch == EinsumSpec::kEllipsis) {
        auto n = static_cast<std::size_t>(spec.ellipsis_ranks[k]);
        ellipses.emplace_back(shape.begin() + static_cast<std::ptrdiff_t>(axis), shape.begin() + static_cast<std::ptrdiff_t>(axis + n));
        axis += n;
        continue;
      }
      auto [it, fresh] = sizes.emplace(ch, shape[axis]);
      if (!fresh) {
        std::optional<Dim> d = unify_dim(it->second, shape[axis]);
        if (!d)
          throw Error(ErrorKind::shape, "einsum: letter '" + std::string(1, ch) + "' is " + shape_str(SymShape{it->second}) +
                                            " in one place and " + shape_str(SymShape{shape[axis]}) + " in another");
        it->second = *d;
      }
      ++axis;
    }
  }
  SymShape ellipsis = broadcast_shapes(ellipses);
  SymShape out;
  for (char ch : spec.output) {
    if (ch == EinsumSpec::kEllipsis) out.insert(out.end(), ellipsis.begin(), ellipsis.end());
    else out.push_back(sizes.at(ch));
  }
  return ValueInfo{in[0].dtype, out};
}

std::vector<AttrSpec> top_k_attributes() {
  return {{"k", AttrType::integer, std::nullopt},
          {"axis", AttrType::integer, AttrValue{int64_t{-1}}},
          {"largest", AttrType::boolean, AttrValue{true}},
          {"sorted", AttrType::boolean, AttrValue{true}}};
}

}  // namespace

void register_indexing_ops(OpRegistry& registry) {
  registry.add(builtin_schema(
      "gather_elements",
      "ONNX GatherElements: output[i][j][k] = input[indices[i][j][k]][j][k] for axis 0 (likewise for other axes). "
      "indices (int32/int64, negative counts from the end) have the input's rank and are no longer in the other "
      "axes; the output has the indices' shape.",
      {{"input"}, {"indices"}}, {{"axis", AttrType::integer, AttrValue{int64_t{0}}}}, infer_gather_elements));
  registry.add(builtin_schema(
      "scatter_elements",
      "ONNX ScatterElements: a copy of input where, for every position p of indices, the element at p with axis "
      "`axis` replaced by indices[p] gets updates[p] (reduction \"none\") or combined with it (\"add\", \"mul\", "
      "\"max\", \"min\"); repeated indices apply in order.",
      {{"input"}, {"indices"}, {"updates"}},
      {{"axis", AttrType::integer, AttrValue{int64_t{0}}}, {"reduction", AttrType::string, AttrValue{std::string("none")}}},
      infer_scatter_elements));
  registry.add(builtin_schema(
      "gather_nd",
      "ONNX GatherND: each row of the last axis of indices (k entries) addresses input[batch..., i0, ..., ik-1] after "
      "`batch_dims` leading axes shared by input and indices; output indices.shape[:-1] + input.shape[batch_dims+k:].",
      {{"input"}, {"indices"}}, {{"batch_dims", AttrType::integer, AttrValue{int64_t{0}}}}, infer_gather_nd));
  registry.add(builtin_schema(
      "scatter_nd",
      "ONNX ScatterND: a copy of input where the slice addressed by each row of indices' last axis gets the matching "
      "slice of updates (reduction \"none\"), or is combined with it (\"add\", \"mul\", \"max\", \"min\").",
      {{"input"}, {"indices"}, {"updates"}},
      {{"reduction", AttrType::string, AttrValue{std::string("none")}}}, infer_scatter_nd));
  registry.add(builtin_schema(
      "one_hot",
      "ONNX OneHot: a new axis of size `depth` at `axis` (-1 = last) holding values[1] where it equals the index "
      "(negative indices count from depth; out-of-range ones give a row of values[0]) and values[0] elsewhere. "
      "Floating indices are truncated; the output has values' dtype.",
      {{"indices"}, {"values"}},
      {{"depth", AttrType::integer, std::nullopt}, {"axis", AttrType::integer, AttrValue{int64_t{-1}}}}, infer_one_hot));
  registry.add(builtin_schema(
      "trilu",
      "ONNX Trilu / numpy.triu, numpy.tril over the last two axes: upper keeps j - i >= k, lower keeps j - i <= k; "
      "the rest is zero.",
      {{"input"}}, {{"upper", AttrType::boolean, AttrValue{true}}, {"k", AttrType::integer, AttrValue{int64_t{0}}}},
      infer_trilu));
  registry.add(builtin_schema(
      "cumsum",
      "ONNX CumSum along `axis`: exclusive leaves each element out of its own sum (the first is 0), reverse sums "
      "from the end.",
      {{"input"}},
      {{"axis", AttrType::integer, std::nullopt},
       {"exclusive", AttrType::boolean, AttrValue{false}},
       {"reverse", AttrType::boolean, AttrValue{false}}},
      infer_cumsum));
  registry.add(builtin_schema(
      "resize",
      "ONNX Resize (opset 11-18 without antialias) to the full output shape `sizes`, where -1 stands for "
      "floor(input size * scale) (the input's size without scales: dynamic axes stay dynamic). The coordinate "
      "mapping uses `scales` when given (non-empty; ONNX's scales input), else sizes / input size. mode "
      "nearest | linear | cubic (separable over every axis), coordinate_transformation_mode half_pixel | asymmetric "
      "| align_corners | pytorch_half_pixel | tf_crop_and_resize (with `roi` = [starts..., ends...], outside points "
      "get extrapolation_value) | tf_half_pixel_for_nn (opset 11), nearest_mode round_prefer_floor | round_prefer_ceil | floor | ceil, cubic_coeff_a, "
      "exclude_outside. Computed in float64; integers truncated back.",
      {{"input"}},
      {{"sizes", AttrType::int_list, std::nullopt},
       {"scales", AttrType::number_list, AttrValue{std::vector<double>{}}},
       {"roi", AttrType::number_list, AttrValue{std::vector<double>{}}},
       {"mode", AttrType::string, AttrValue{std::string("nearest")}},
       {"coordinate_transformation_mode", AttrType::string, AttrValue{std::string("half_pixel")}},
       {"nearest_mode", AttrType::string, AttrValue{std::string("round_prefer_floor")}},
       {"cubic_coeff_a", AttrType::number, AttrValue{-0.75}},
       {"exclude_outside", AttrType::boolean, AttrValue{false}},
       {"extrapolation_value", AttrType::number, AttrValue{0.0}}},
      infer_resize));
  registry.add(builtin_schema(
      "einsum",
      "numpy.einsum / ONNX Einsum with attribute `equation` (\"ij,jk->ik\"; without \"->\" the output is \"...\" "
      "then the letters used once, alphabetically): a letter repeated within a term takes the diagonal, letters "
      "missing from the output are summed over, \"...\" axes broadcast. Inputs share one numeric dtype.",
      {{"inputs", true}}, {{"equation", AttrType::string, std::nullopt}}, infer_einsum));
  registry.add(builtin_schema(
      "top_k_values",
      "ONNX TopK's first output: the k largest (largest true) or smallest elements along `axis`, in order; equal "
      "values keep their input order. sorted false gives the same order.",
      {{"input"}}, top_k_attributes(), [](const auto& in, const auto& attrs) { return infer_top_k(in, attrs, false); }));
  registry.add(builtin_schema(
      "top_k_indices",
      "ONNX TopK's second output: the int64 positions along `axis` of top_k_values' elements.", {{"input"}},
      top_k_attributes(), [](const auto& in, const auto& attrs) { return infer_top_k(in, attrs, true); }));
  registry.add(builtin_schema(
      "grid_sample",
      "ONNX GridSample (opset 16, 4-D): output[n, c, i, j] samples input[n, c] at grid[n, i, j] = (x, y) in [-1, 1] "
      "(x along W, y along H; align_corners maps -1 and 1 to the corner pixels' centres, else to their outer edges). "
      "mode bilinear | nearest (half to even) | bicubic (A = -0.75); padding_mode zeros | border | reflection says "
      "what points outside the image read. Computed in float64.",
      {{"input"}, {"grid"}},
      {{"mode", AttrType::string, AttrValue{std::string("bilinear")}},
       {"padding_mode", AttrType::string, AttrValue{std::string("zeros")}},
       {"align_corners", AttrType::boolean, AttrValue{false}}},
      infer_grid_sample));
  registry.add(builtin_schema(
      "reverse_sequence",
      "ONNX ReverseSequence: for each batch entry b (along batch_axis), its first sequence_lens[b] elements along "
      "time_axis are reversed and the rest copied; the axes are 0 and 1 in either order.",
      {{"input"}, {"sequence_lens"}},
      {{"batch_axis", AttrType::integer, AttrValue{int64_t{1}}}, {"time_axis", AttrType::integer, AttrValue{int64_t{0}}}},
      infer_reverse_sequence));
  registry.add(builtin_schema(
      "tf_idf_vectorizer",
      "ONNX TfIdfVectorizer over integer tokens ([C] or [N, C] -> float32 [columns] or [N, columns]): counts each "
      "n-gram of the pool (pool_int64s split by ngram_counts, column ngram_indexes) of length min_gram_length.."
      "max_gram_length whose items are skip + 1 apart, skip 0..max_skip_count (unigrams counted once); mode TF "
      "gives the counts, IDF the weight (default 1) where the count is not 0, TFIDF count x weight.",
      {{"input"}},
      {{"mode", AttrType::string, std::nullopt},
       {"min_gram_length", AttrType::integer, std::nullopt},
       {"max_gram_length", AttrType::integer, std::nullopt},
       {"max_skip_count", AttrType::integer, std::nullopt},
       {"ngram_counts", AttrType::int_list, std::nullopt},
       {"ngram_indexes", AttrType::int_list, std::nullopt},
       {"pool_int64s", AttrType::int_list, std::nullopt},
       {"weights", AttrType::number_list, AttrValue{std::vector<double>{}}}},
      infer_tf_idf_vectorizer));
}

}  // namespace mithril
