#include "physical/plan.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace mithril {

struct Plan::Step {
  NodeSpec spec;
  const Backend* backend = nullptr;
  std::vector<int> inputs;  // slots, in spec.inputs order
  int output = -1;
  std::vector<std::string> fused_paths;
  bool in_place = false;
  std::unique_ptr<Kernel> kernel;
  std::vector<const Tensor*> args;  // &values_[inputs[i]]
};

namespace {

constexpr uint64_t kAlignment = 64;

uint64_t aligned(uint64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

uint64_t bytes_of(const TensorType& t) { return static_cast<uint64_t>(shape_numel(t.shape)) * dtype_size(t.dtype); }

bool is_view_op(const OpSchema& op) {
  return op.domain.empty() && (op.name == "reshape" || op.name == "flatten" || op.name == "identity");
}

bool commutative(const OpSchema& op) { return op.domain.empty() && (op.name == "add" || op.name == "multiply"); }

// A buffer of the arena: one intermediate, or several when kernels write in place.
struct Block {
  uint64_t bytes = 0;
  int first = 0, last = 0;  // steps
  uint64_t offset = 0;
};

// Offsets for blocks so that blocks live at the same time never overlap: largest first, each at
// the lowest offset that fits between the blocks already placed whose lifetimes overlap it.
uint64_t assign_offsets(std::vector<Block>& blocks) {
  std::vector<std::size_t> order(blocks.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return blocks[a].bytes > blocks[b].bytes; });
  std::vector<std::size_t> placed;
  uint64_t total = 0;
  for (std::size_t b : order) {
    std::vector<std::pair<uint64_t, uint64_t>> taken;  // [offset, end) of overlapping live blocks
    for (std::size_t p : placed)
      if (blocks[p].first <= blocks[b].last && blocks[b].first <= blocks[p].last)
        taken.emplace_back(blocks[p].offset, blocks[p].offset + blocks[p].bytes);
    std::sort(taken.begin(), taken.end());
    uint64_t offset = 0;
    for (const auto& [begin, end] : taken) {
      if (offset + blocks[b].bytes <= begin) break;
      offset = std::max(offset, end);
    }
    blocks[b].offset = offset;
    total = std::max(total, offset + blocks[b].bytes);
    placed.push_back(b);
  }
  return total;
}

}  // namespace

uint64_t node_work(const NodeSpec& node) {
  auto numel = [](const Shape& s) { return static_cast<uint64_t>(shape_numel(s)); };
  uint64_t elements = numel(node.output.shape);
  for (const TensorType& t : node.inputs) elements = std::max(elements, numel(t.shape));
  if (node.op->domain.empty() && node.inputs.size() >= 2) {
    const Shape& a = node.inputs[0].shape;
    const Shape& w = node.inputs[1].shape;
    if (node.op->name == "matmul" && !a.empty()) return numel(node.output.shape) * static_cast<uint64_t>(a.back());
    if ((node.op->name == "conv1d" || node.op->name == "conv2d" || node.op->name == "conv3d") && !w.empty())
      return numel(node.output.shape) * (numel(w) / static_cast<uint64_t>(std::max<int64_t>(w[0], 1)));
    // Each input element meets every weight of its channel.
    if (node.op->name.starts_with("conv_transpose") && !w.empty())
      return numel(a) * (numel(w) / static_cast<uint64_t>(std::max<int64_t>(w[0], 1)));
  }
  if (node.op->domain.empty() && (node.op->name.starts_with("max_pool") || node.op->name.starts_with("avg_pool"))) {
    uint64_t window = 1;
    for (int64_t k : attr_ints(*node.attributes, "kernel_size")) window *= static_cast<uint64_t>(std::max<int64_t>(k, 1));
    return std::max(elements, numel(node.output.shape) * window);
  }
  return elements;
}

Plan::~Plan() = default;

Plan::Plan(const PlanGraph& graph, const Backend& preferred, const PlanOptions& options) {
  const bool bfloat16_compute = options.bfloat16_compute;
  const Backend& reference = reference_backend();
  const std::size_t slot_count = graph.types.size();
  slots_.resize(slot_count);
  values_.resize(slot_count);
  for (std::size_t s = 0; s < slot_count; ++s) slots_[s].type = graph.types[s];
  for (const auto& [name, slot] : graph.inputs) slots_[static_cast<std::size_t>(slot)].storage = Storage::input;
  for (const auto& [slot, value] : graph.fixed) {
    slots_[static_cast<std::size_t>(slot)].storage = Storage::fixed;
    values_[static_cast<std::size_t>(slot)] = value;
    info_.parameter_bytes += value.nbytes();
  }
  std::set<int> returned;
  for (const auto& [name, slot] : graph.returned) returned.insert(slot);
  inputs_ = graph.inputs;
  returned_ = graph.returned;

  std::vector<std::vector<int>> consumers(slot_count);  // node indices, once per use
  for (std::size_t i = 0; i < graph.nodes.size(); ++i)
    for (int s : graph.nodes[i].inputs) consumers[static_cast<std::size_t>(s)].push_back(static_cast<int>(i));

  auto root_of = [&](int slot) {
    while (slots_[static_cast<std::size_t>(slot)].storage == Storage::view) slot = slots_[static_cast<std::size_t>(slot)].source;
    return slot;
  };
  auto input_type = [&](int slot) { return slots_[static_cast<std::size_t>(slot)].type; };
  auto known_value = [&](int slot) -> const Tensor* {
    return slots_[static_cast<std::size_t>(slot)].storage == Storage::fixed ? &values_[static_cast<std::size_t>(slot)] : nullptr;
  };

  // Groups of nodes in execution order: a head with the elementwise chain fused into it runs
  // where the chain's last node was (every fused operand exists by then).
  std::vector<bool> absorbed(graph.nodes.size(), false);
  std::vector<std::pair<int, std::unique_ptr<Step>>> scheduled;  // position, step
  std::vector<std::pair<int, PlanNodeInfo>> view_infos;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (absorbed[i]) continue;
    const PlanGraph::Node& node = graph.nodes[i];
    const std::size_t out = static_cast<std::size_t>(node.output);
    slots_[out].storage = returned.count(node.output) ? Storage::per_run : Storage::arena;
    if (is_view_op(*node.op) && node.inputs.size() == 1 && input_type(node.inputs[0]).dtype == slots_[out].type.dtype) {
      // A returned view of an arena buffer would be overwritten by the next run: copy those.
      Storage source = slots_[static_cast<std::size_t>(root_of(node.inputs[0]))].storage;
      if (!(returned.count(node.output) && source == Storage::arena)) {
        slots_[out].storage = Storage::view;
        slots_[out].source = node.inputs[0];
        PlanNodeInfo view{node.path, node.op->qualified_name(), "", {}, false, true, {}, false, false};
        view_infos.emplace_back(static_cast<int>(i), std::move(view));
        continue;
      }
    }
    auto step = std::make_unique<Step>();
    step->spec.path = node.path;
    step->spec.op = node.op;
    step->spec.attributes = node.attributes;
    step->spec.bfloat16_compute = bfloat16_compute;
    for (int s : node.inputs) {
      step->spec.inputs.push_back(input_type(s));
      step->spec.input_values.push_back(known_value(s));
    }
    step->spec.output = slots_[out].type;
    step->inputs = node.inputs;
    step->output = node.output;
    bool worth_it = &preferred == &reference || node_work(step->spec) >= options.min_node_work;
    if (worth_it && preferred.supports(step->spec)) step->backend = &preferred;
    else if (reference.supports(step->spec)) step->backend = &reference;
    else
      throw Error(ErrorKind::unsupported, fmt::format("node '{}': no backend can run operator '{}' on {}", node.path,
                                                      node.op->qualified_name(), dtype_name(step->spec.output.dtype)));
    // Constant folding: a built-in operator (a plugin's may have state) whose inputs are all known
    // runs here once, into a constant the later nodes see as known (and prepare with it), unless
    // that would hold more bytes than its inputs do.
    uint64_t input_bytes = 0;
    bool known = !node.inputs.empty() && node.op->domain.empty() && !returned.count(node.output);
    for (std::size_t k = 0; known && k < node.inputs.size(); ++k) {
      known = known_value(node.inputs[k]) != nullptr;
      input_bytes += bytes_of(step->spec.inputs[k]);
    }
    if (known && bytes_of(slots_[out].type) <= input_bytes) {
      std::unique_ptr<Kernel> kernel;
      try {
        kernel = step->backend->prepare(step->spec);
      } catch (const Error& e) {
        throw e.with_context(fmt::format("node '{}' ({})", node.path, node.op->qualified_name()));
      }
      std::vector<const Tensor*> args;
      for (int s : node.inputs) args.push_back(known_value(s));
      Tensor result = Tensor::uninitialized(slots_[out].type.dtype, slots_[out].type.shape);
      try {
        kernel->run(args, result);
      } catch (const Error& e) {
        throw e.with_context(fmt::format("node '{}' ({})", node.path, node.op->qualified_name()));
      }
      slots_[out].storage = Storage::fixed;
      values_[out] = std::move(result);
      PlanNodeInfo folded{node.path, node.op->qualified_name(), std::string(step->backend->name()), {}, false, false, {}, false, true};
      view_infos.emplace_back(static_cast<int>(i), std::move(folded));
      continue;
    }
    int position = static_cast<int>(i);
    while (step->backend != &reference) {
      int current = step->output;
      const auto& uses = consumers[static_cast<std::size_t>(current)];
      // A node an earlier chain absorbed (a residual add of two convolutions) is not fused twice.
      if (returned.count(current) || uses.size() != 1 || absorbed[static_cast<std::size_t>(uses[0])]) break;
      const PlanGraph::Node& next = graph.nodes[static_cast<std::size_t>(uses[0])];
      // Fused operators keep the result's type, except a max-pool ending a convolution's chain
      // (the backend says whether it can run that).
      bool pooling = next.op->domain.empty() && (next.op->name == "max_pool1d" || next.op->name == "max_pool2d");
      if (!pooling && graph.types[static_cast<std::size_t>(next.output)] != graph.types[static_cast<std::size_t>(current)]) break;
      int other = -1;
      if (next.inputs.size() == 2 && next.inputs[0] == current) other = next.inputs[1];
      else if (next.inputs.size() == 2 && next.inputs[1] == current && commutative(*next.op)) other = next.inputs[0];
      else if (next.inputs.size() != 1) break;
      NodeSpec trial = step->spec;
      FusedOp fused{next.op, next.attributes, -1};
      if (other >= 0) {
        fused.operand = static_cast<int>(trial.inputs.size());
        trial.inputs.push_back(input_type(other));
        trial.input_values.push_back(known_value(other));
      }
      trial.fused.push_back(fused);
      trial.output = graph.types[static_cast<std::size_t>(next.output)];
      if (!step->backend->supports(trial)) break;
      step->spec = std::move(trial);
      if (other >= 0) step->inputs.push_back(other);
      step->fused_paths.push_back(next.path);
      absorbed[static_cast<std::size_t>(uses[0])] = true;
      slots_[static_cast<std::size_t>(current)].storage = Storage::arena;  // never materialized
      step->output = next.output;
      slots_[static_cast<std::size_t>(next.output)].storage = returned.count(next.output) ? Storage::per_run : Storage::arena;
      position = uses[0];
    }
    scheduled.emplace_back(position, std::move(step));
  }
  std::stable_sort(scheduled.begin(), scheduled.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  // Layouts: every intermediate a non-reference kernel writes goes channels-last at first, then
  // any kernel that does not support its layouts sends its channels-last values back to plain
  // (and their other readers and writer are checked again), until every kernel supports its
  // node: a chain of convolutions passes values on as oneDNN likes them. Never an input, a
  // parameter, a returned value (per_run) or a value something views: those are plain.
  {
    std::vector<std::vector<std::pair<Step*, std::size_t>>> uses(slot_count);
    std::vector<Step*> producer(slot_count, nullptr);
    std::vector<bool> viewed(slot_count, false), channels_last(slot_count, false);
    for (auto& scheduled_step : scheduled) {
      Step* step = scheduled_step.second.get();
      producer[static_cast<std::size_t>(step->output)] = step;
      step->spec.input_layouts.assign(step->spec.inputs.size(), Layout::plain);
      for (std::size_t k = 0; k < step->inputs.size(); ++k) uses[static_cast<std::size_t>(step->inputs[k])].emplace_back(step, k);
    }
    for (std::size_t s = 0; s < slot_count; ++s)
      if (slots_[s].storage == Storage::view) viewed[static_cast<std::size_t>(slots_[s].source)] = true;
    auto set_layout = [&](std::size_t slot, Layout layout) {
      channels_last[slot] = layout == Layout::channels_last;
      producer[slot]->spec.output_layout = layout;
      for (auto& [consumer, k] : uses[slot]) consumer->spec.input_layouts[k] = layout;
    };
    for (std::size_t s = 0; s < slot_count; ++s) {
      const std::size_t rank = slots_[s].type.shape.size();
      if (producer[s] && producer[s]->backend != &reference && slots_[s].storage == Storage::arena && !viewed[s] && !uses[s].empty() &&
          rank >= 3 && rank <= 5)
        set_layout(s, Layout::channels_last);
    }
    std::vector<Step*> work;
    for (auto& scheduled_step : scheduled) work.push_back(scheduled_step.second.get());
    while (!work.empty()) {
      Step* step = work.back();
      work.pop_back();
      if (step->spec.all_plain() || step->backend->supports(step->spec)) continue;
      std::vector<std::size_t> demoted;
      for (int in : step->inputs)
        if (channels_last[static_cast<std::size_t>(in)]) demoted.push_back(static_cast<std::size_t>(in));
      if (channels_last[static_cast<std::size_t>(step->output)]) demoted.push_back(static_cast<std::size_t>(step->output));
      for (std::size_t slot : demoted) {
        if (!channels_last[slot]) continue;
        set_layout(slot, Layout::plain);
        work.push_back(producer[slot]);
        for (auto& use : uses[slot]) work.push_back(use.first);
      }
    }
  }

  // Lifetimes of arena buffers, in steps; a view's uses are its root's.
  std::vector<int> defined(slot_count, -1), last_use(slot_count, -1);
  for (std::size_t s = 0; s < scheduled.size(); ++s) {
    const Step& step = *scheduled[s].second;
    defined[static_cast<std::size_t>(step.output)] = static_cast<int>(s);
    last_use[static_cast<std::size_t>(step.output)] = std::max(last_use[static_cast<std::size_t>(step.output)], static_cast<int>(s));
    for (int in : step.inputs) {
      std::size_t root = static_cast<std::size_t>(root_of(in));
      last_use[root] = std::max(last_use[root], static_cast<int>(s));
    }
  }
  // In place: an elementwise kernel writes over its first input when that input's buffer is an
  // intermediate used for the last time here, and by no other operand of the step.
  std::vector<int> block_of(slot_count, -1);
  std::vector<Block> blocks;
  for (std::size_t s = 0; s < scheduled.size(); ++s) {
    Step& step = *scheduled[s].second;
    std::size_t out = static_cast<std::size_t>(step.output);
    if (slots_[out].storage != Storage::arena) continue;
    if (!step.inputs.empty() && step.backend->runs_in_place(step.spec)) {
      std::size_t first = static_cast<std::size_t>(root_of(step.inputs[0]));
      bool alone = true;
      for (std::size_t k = 1; k < step.inputs.size(); ++k) alone = alone && static_cast<std::size_t>(root_of(step.inputs[k])) != first;
      if (alone && slots_[first].storage == Storage::arena && last_use[first] == static_cast<int>(s) && block_of[first] >= 0 &&
          bytes_of(slots_[first].type) == bytes_of(slots_[out].type)) {
        block_of[out] = block_of[first];
        Block& block = blocks[static_cast<std::size_t>(block_of[out])];
        block.last = std::max(block.last, last_use[out]);
        step.in_place = true;
        continue;
      }
    }
    block_of[out] = static_cast<int>(blocks.size());
    blocks.push_back(Block{aligned(bytes_of(slots_[out].type)), static_cast<int>(s), std::max(last_use[out], static_cast<int>(s)), 0});
  }
  info_.arena_bytes = assign_offsets(blocks);
  std::vector<uint64_t> sizes;
  for (const Block& b : blocks) {
    info_.intermediate_bytes += b.bytes;
    sizes.push_back(b.bytes);
  }
  std::sort(sizes.rbegin(), sizes.rend());
  for (std::size_t i = 0; i < sizes.size() && i < 2; ++i) info_.largest_two_live_bytes += sizes[i];

  // Bind what stays: fixed values (done), arena slots and views of them.
  arena_ = Tensor::uninitialized(DType::uint8, Shape{static_cast<int64_t>(info_.arena_bytes)});
  auto* base = static_cast<char*>(info_.arena_bytes ? arena_.mutable_data() : nullptr);
  for (std::size_t s = 0; s < slot_count; ++s) {
    Slot& slot = slots_[s];
    if (slot.storage == Storage::arena && block_of[s] >= 0) {
      slot.offset = blocks[static_cast<std::size_t>(block_of[s])].offset;
      values_[s] = Tensor::view(slot.type.dtype, slot.type.shape, base + slot.offset, nullptr);
    } else if (slot.storage == Storage::view) {
      Storage root = slots_[static_cast<std::size_t>(root_of(static_cast<int>(s)))].storage;
      if (root == Storage::fixed || root == Storage::arena) values_[s] = values_[static_cast<std::size_t>(slot.source)].reshaped(slot.type.shape);
      else per_run_views_.push_back(static_cast<int>(s));
    }
  }

  // Kernels, and the report.
  info_.threads = compute_threads();
  std::size_t view_index = 0;
  for (auto& [position, step] : scheduled) {
    while (view_index < view_infos.size() && view_infos[view_index].first < position) info_.nodes.push_back(view_infos[view_index++].second);
    try {
      step->kernel = step->backend->prepare(step->spec);
    } catch (const Error& e) {
      throw e.with_context(fmt::format("node '{}' ({})", step->spec.path, step->spec.op->qualified_name()));
    }
    for (int in : step->inputs) step->args.push_back(&values_[static_cast<std::size_t>(in)]);
    info_.kernel_bytes += step->kernel->held_bytes();
    if (slots_[static_cast<std::size_t>(step->output)].storage == Storage::per_run) info_.output_bytes += bytes_of(step->spec.output);
    info_.nodes_on[std::string(step->backend->name())] += 1;
    PlanNodeInfo node_info{step->spec.path, step->spec.op->qualified_name(), std::string(step->backend->name()),
                           step->fused_paths, step->in_place, false, {}, step->spec.output_layout == Layout::channels_last};
    for (std::size_t k = 0; k < step->spec.inputs.size(); ++k)
      node_info.channels_last_inputs.push_back(step->spec.input_layout(k) == Layout::channels_last);
    info_.nodes.push_back(std::move(node_info));
    steps_.push_back(std::move(step));
  }
  while (view_index < view_infos.size()) info_.nodes.push_back(view_infos[view_index++].second);
}

std::map<std::string, Tensor> Plan::run(const std::map<std::string, Tensor>& inputs) {
  std::lock_guard lock(mutex_);
  for (const auto& [name, slot] : inputs_) {
    auto it = inputs.find(name);
    if (it == inputs.end()) throw Error(ErrorKind::invalid_argument, fmt::format("input '{}' is missing", name));
    const TensorType& type = slots_[static_cast<std::size_t>(slot)].type;
    if (it->second.shape() != type.shape)
      throw Error(ErrorKind::shape, fmt::format("input '{}': shape {}, the plan was built for {}", name, shape_str(it->second.shape()),
                                                shape_str(type.shape)));
    values_[static_cast<std::size_t>(slot)] = it->second.cast(type.dtype);
  }
  for (std::size_t s = 0; s < slots_.size(); ++s)
    if (slots_[s].storage == Storage::per_run) values_[s] = Tensor::uninitialized(slots_[s].type.dtype, slots_[s].type.shape);
  for (int v : per_run_views_)
    values_[static_cast<std::size_t>(v)] = values_[static_cast<std::size_t>(slots_[static_cast<std::size_t>(v)].source)].reshaped(
        slots_[static_cast<std::size_t>(v)].type.shape);
  // Per-run handles are dropped on the way out, also on error: the plan keeps no caller's tensor.
  auto release = [&] {
    for (std::size_t s = 0; s < slots_.size(); ++s)
      if (slots_[s].storage == Storage::input || slots_[s].storage == Storage::per_run) values_[s] = Tensor();
    for (int v : per_run_views_) values_[static_cast<std::size_t>(v)] = Tensor();
  };
  try {
    for (const auto& step : steps_) {
      try {
        step->kernel->run(step->args, values_[static_cast<std::size_t>(step->output)]);
      } catch (const Error& e) {
        throw e.with_context(fmt::format("node '{}' ({})", step->spec.path, step->spec.op->qualified_name()));
      }
    }
  } catch (...) {
    release();
    throw;
  }
  std::map<std::string, Tensor> result;
  for (const auto& [name, slot] : returned_) result[name] = values_[static_cast<std::size_t>(slot)];
  release();
  return result;
}

}  // namespace mithril
