#!/usr/bin/env bash
# Using the library from another project (issue 10): `cmake --install` into a temporary prefix,
# then a ten-line consumer that loads an .mbin and evaluates it is built twice, once with
# find_package(mithril CONFIG REQUIRED) + mithril::mithril and once with pkg-config, and both run.
source "$(dirname "$0")/lib/common.bash"
build="$MITHRIL_BIN/.."
prefix="$WORK/prefix"
checks=$((checks + 1))
cmake --install "$build" --prefix "$prefix" >install.log 2>&1 || fail "cmake --install failed: $(tail -3 install.log)"
for f in include/mithril/physical/persistence.h lib/cmake/mithril/mithrilConfig.cmake lib/pkgconfig/mithril.pc; do
  checks=$((checks + 1)); [[ -f $prefix/$f ]] || fail "not installed: $f"
done
checks=$((checks + 1))
[[ ! -e $prefix/include/mithril/io/json_util.h ]] || fail "an internal header (RapidJSON) was installed"

mkdir consumer
cat >consumer/main.cpp <<'CPP'
#include <iostream>

#include "backends/backend.h"
#include "physical/persistence.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  mithril::PhysicalModel model = mithril::load_binary(argv[1], mithril::reference_backend());
  mithril::TensorMap outputs = model({{"input", mithril::Tensor(mithril::DType::float32, {2, 10})}});
  std::cout << mithril::describe(outputs.at("output")) << "\n";
}
CPP
cat >consumer/CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(mithril CONFIG REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE mithril::mithril)
CMAKE
expect 0 "$SAVE" simple_mlp -o model.mbin --seed 3
# An uninstrumented consumer of the ASan-built library must load the ASan runtime first.
preload=(env)
if sanitized; then preload=(env LD_PRELOAD="$(g++ -print-file-name=libasan.so)"); fi

checks=$((checks + 1))
if cmake -S consumer -B consumer/build -DCMAKE_PREFIX_PATH="$prefix" >cmake.log 2>&1 &&
   cmake --build consumer/build >>cmake.log 2>&1; then
  expect 0 "${preload[@]}" consumer/build/consumer model.mbin
  contains out "float32[2,1]"
else
  fail "the find_package consumer did not build: $(tail -5 cmake.log)"
fi

checks=$((checks + 1))
flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs mithril) || fail "pkg-config does not know mithril"
# shellcheck disable=SC2086
if g++ consumer/main.cpp -o consumer_pc $flags -Wl,-rpath,"$prefix/lib" >gcc.log 2>&1; then
  expect 0 "${preload[@]}" ./consumer_pc model.mbin
  contains out "float32[2,1]"
else
  fail "the pkg-config consumer did not build: $(tail -5 gcc.log)"
fi
finish
