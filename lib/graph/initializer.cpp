#include "graph/initializer.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.h"

namespace mithril {
namespace {

// splitmix64: tiny, well-distributed, identical on every platform.
struct Random {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in (0, 1): 53 random bits, never 0 (Box-Muller takes its log).
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
};

uint64_t stream_seed(uint64_t seed, std::string_view path) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a of the path, then mixed with the seed
  for (unsigned char c : path) h = (h ^ c) * 0x100000001B3ull;
  Random mix{h ^ (seed * 0x9E3779B97F4A7C15ull)};
  return mix.next();
}

double parse_number(std::string_view text, std::string_view whole) {
  std::string s(text);
  auto eq = s.find('=');
  if (eq != std::string::npos) s = s.substr(eq + 1);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0')
    throw Error(ErrorKind::invalid_argument, "initializer '" + std::string(whole) + "': '" + std::string(text) + "' is not a number");
  return v;
}

}  // namespace

std::string Initializer::str() const {
  switch (kind) {
    case Kind::glorot: return "glorot";
    case Kind::zeros: return "zeros";
    case Kind::ones: return "ones";
    case Kind::normal: return fmt::format("normal({})", a);
    case Kind::uniform: return fmt::format("uniform({},{})", a, b);
  }
  return "?";
}

Initializer Initializer::parse(std::string_view text) {
  if (text == "glorot") return glorot();
  if (text == "zeros") return zeros();
  if (text == "ones") return ones();
  auto open = text.find('(');
  if (open != std::string_view::npos && text.back() == ')') {
    std::string_view kind = text.substr(0, open);
    std::string_view args = text.substr(open + 1, text.size() - open - 2);
    auto comma = args.find(',');
    if (kind == "normal" && comma == std::string_view::npos) return normal(parse_number(args, text));
    if (kind == "uniform" && comma != std::string_view::npos) {
      double low = parse_number(args.substr(0, comma), text);
      double high = parse_number(args.substr(comma + 1), text);
      if (!(low < high)) throw Error(ErrorKind::invalid_argument, "initializer '" + std::string(text) + "': low must be below high");
      return uniform(low, high);
    }
  }
  throw Error(ErrorKind::invalid_argument, "unknown initializer '" + std::string(text) +
                                               "' (expected glorot, zeros, ones, normal(STD) or uniform(LOW,HIGH))");
}

Tensor initialize(const Initializer& init, DType dtype, const Shape& shape, uint64_t seed, std::string_view path) {
  Tensor values(DType::float64, shape);
  double* out = values.mutable_data_as<double>();
  int64_t n = values.numel();
  Random rng{stream_seed(seed, path)};
  auto normal = [&](double std) {
    for (int64_t i = 0; i < n; i += 2) {
      double r = std::sqrt(-2.0 * std::log(rng.uniform()));
      double theta = 6.283185307179586 * rng.uniform();
      out[i] = std * r * std::cos(theta);
      if (i + 1 < n) out[i + 1] = std * r * std::sin(theta);
    }
  };
  switch (init.kind) {
    case Initializer::Kind::zeros: break;
    case Initializer::Kind::ones:
      for (int64_t i = 0; i < n; ++i) out[i] = 1.0;
      break;
    case Initializer::Kind::normal: normal(init.a); break;
    case Initializer::Kind::uniform:
      for (int64_t i = 0; i < n; ++i) out[i] = init.a + (init.b - init.a) * rng.uniform();
      break;
    case Initializer::Kind::glorot: {
      double fan_in = shape.empty() ? 1.0 : static_cast<double>(shape[0]);
      double fan_out = shape.size() >= 2 ? static_cast<double>(shape[1]) : fan_in;
      double denom = fan_in + fan_out;
      normal(denom > 0 ? std::sqrt(2.0 / denom) : 0.0);
      break;
    }
  }
  return values.cast(dtype);
}

}  // namespace mithril
