// migrate_files: discovery, modes, output folders, shards, .mbin containers and failure isolation.
#include <catch2/catch.hpp>

#include "test_util.h"

#include <filesystem>
#include <set>
#include <sstream>

#include <unistd.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/mbin.h"
#include "io/mithril_file.h"
#include "tools/cli.h"
#include "tools/migrate.h"
#include "versioning/format_history.h"

using namespace mithril;
using namespace mithril::tools;
namespace fs = std::filesystem;

namespace {

using mithril::testing::TempDir;

void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  write_file_atomic(p.string(), text);
}

std::string fmt_name(int i) {
  std::ostringstream s;  // (a stream: GCC 12 warns falsely on "m" + std::to_string(i) + ".json")
  s << "m" << i << ".json";
  return s.str();
}

}  // namespace

TEST_CASE("migrate_files: in place with backups, then a no-op, and failures are isolated", "[tools][migrate]") {
  TempDir dir;
  put(dir.path / "a.json", R"({"name": "Relu"})");
  put(dir.path / "deep/b.json", R"({"name": "Linear"})");
  put(dir.path / "deep/bad.json", R"({"name": "Nope"})");
  put(dir.path / "deep/notes.txt", "not a model");
  put(dir.path / "deep/.hidden.json", R"({"name": "Relu"})");
  MigrateOptions o;
  o.paths = {dir.path.string()};
  o.jobs = 2;
  MigrateReport r = migrate_files(o);
  CHECK(r.files.size() == 3);
  CHECK(r.migrated == 2);
  CHECK(r.failed == 1);
  CHECK(r.exit_code() == kExitInputError);
  CHECK(read_file((dir.path / "a.json.bak").string()) == R"({"name": "Relu"})");
  CHECK(read_file((dir.path / "deep/bad.json").string()) == R"({"name": "Nope"})");
  CHECK_FALSE(fs::exists(dir.path / "deep/bad.json.bak"));
  CHECK(versioning::detect_format_version(read_file((dir.path / "deep/b.json").string())) == kModelFormatVersion);
  CHECK_THAT(r.to_json(), Catch::Contains("\"status\": \"failed\""));

  MigrateReport again = migrate_files(o);
  CHECK(again.migrated == 0);
  CHECK(again.up_to_date == 2);
  o.mode = MigrateMode::check;
  o.paths = {(dir.path / "a.json").string(), (dir.path / "deep/b.json").string()};
  CHECK(migrate_files(o).exit_code() == kExitOk);
  CHECK(migrate_files(o).summary().rfind(std::string("nothing to do: all 2 files are already at format ") + kModelFormatVersion, 0) == 0);
}

TEST_CASE("migrate_files: check, dry-run and --output-dir change nothing in place", "[tools][migrate]") {
  TempDir dir;
  put(dir.path / "in/x/a.json", R"({"name": "Sigmoid"})");
  MigrateOptions o;
  o.paths = {(dir.path / "in").string()};
  o.mode = MigrateMode::check;
  MigrateReport check = migrate_files(o);
  CHECK(check.needs_migration == 1);
  CHECK(check.exit_code() == kExitCheckFailed);
  o.mode = MigrateMode::dry_run;
  MigrateReport dry = migrate_files(o);
  REQUIRE(dry.files.size() == 1);
  CHECK_THAT(dry.files[0].new_text, Catch::Contains("\"op\": \"sigmoid\""));
  o.mode = MigrateMode::write;
  o.output_dir = (dir.path / "out").string();
  migrate_files(o);
  CHECK(read_file((dir.path / "in/x/a.json").string()) == R"({"name": "Sigmoid"})");
  CHECK(versioning::detect_format_version(read_file((dir.path / "out/x/a.json").string())) == kModelFormatVersion);
  CHECK_FALSE(fs::exists(dir.path / "in/x/a.json.bak"));
}

TEST_CASE("migrate_files: globs, lists on stdin, shards", "[tools][migrate]") {
  TempDir dir;
  for (int i = 0; i < 20; ++i) put(dir.path / fmt_name(i), R"({"name": "Tanh"})");
  std::ostringstream paths;
  paths << (dir.path / "m1.json").string() << "\n" << (dir.path / "m2.json").string() << "\n\n";
  std::istringstream list(paths.str());
  auto found = find_model_files({"-", (dir.path / "m1*.json").string()}, &list);
  CHECK(found.size() == 12);  // m1, m2 from the list; m1, m10..m19 from the glob; m1 once
  CHECK_THROWS_AS(find_model_files({(dir.path / "zz*.json").string()}, nullptr), Error);
  CHECK_THROWS_AS(find_model_files({(dir.path / "missing.json").string()}, nullptr), Error);
  for (bool by_index : {false, true}) {
    std::multiset<std::string> seen;
    for (int k = 0; k < 3; ++k) {
      MigrateOptions o;
      o.paths = {dir.path.string()};
      o.mode = MigrateMode::check;
      o.shard_index = k;
      o.shard_count = 3;
      o.shard_by_index = by_index;
      for (const FileResult& f : migrate_files(o).files) seen.insert(f.path);
    }
    CHECK(seen.size() == 20);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 20);
  }
  MigrateOptions bad;
  bad.paths = {dir.path.string()};
  CHECK(parse_shard("0/4").index == 0);
  CHECK(parse_shard("3/4").count == 4);
  for (const char* text : {"3", "4/4", "-1/4", "1/0", "1/2x", "a/b", "/2", "1/", "99999999999/2"})
    CHECK_THROWS_WITH(parse_shard(text), Catch::Contains(std::string("--shard ") + text + ": expected K/N"));
  bad.shard_index = 3;
  bad.shard_count = 3;
  CHECK_THROWS_AS(migrate_files(bad), Error);
}

TEST_CASE("migrate_files: .mbin files get a new structure and keep their tensors", "[tools][migrate][mbin]") {
  TempDir dir;
  std::string path = (dir.path / "m.mbin").string();
  Tensor w(DType::float64, {2, 3});
  for (int i = 0; i < 6; ++i) w.mutable_data_as<double>()[i] = i * 0.5;
  write_mbin(path, R"({"name": "Linear"})", "{}", {{"weight", w}});
  MigrateOptions o;
  o.paths = {path};
  MigrateReport r = migrate_files(o);
  INFO(r.to_json());
  CHECK(r.migrated == 1);
  auto file = MbinFile::open(path, {true});
  CHECK(versioning::detect_format_version(file->structure_json()) == kModelFormatVersion);
  CHECK(file->load("weight").bitwise_equal(w));
  CHECK(MbinFile::open(path + ".bak")->structure_json() == R"({"name": "Linear"})");
}

TEST_CASE("migrate_files: .mithril files get a new structure and keep their parameters", "[tools][migrate][mithril]") {
  TempDir dir;
  std::string path = (dir.path / "m.mithril").string();
  Tensor w(DType::float32, {3, 2});
  for (int i = 0; i < 6; ++i) w.mutable_data_as<float>()[i] = static_cast<float>(i) - 2.5f;
  // An older (1.0.0) structure inside, as an earlier release would have written it.
  std::string old_structure = R"J({"version": "1.0.0", "name": "m", "inputs": {"x": {"shape": [null, 3]}},
    "parameters": {"w": {"shape": [3, 2]}}, "nodes": [{"name": "y", "op": "matmul", "inputs": ["x", "w"]}], "outputs": {"y": "y"}})J";
  write_mithril_file(path, ModelPackage{old_structure, {{"w", w}}, {}});
  MigrateOptions o;
  o.paths = {path};
  MigrateReport r = migrate_files(o);
  INFO(r.to_json());
  CHECK(r.migrated == 1);
  ModelPackage migrated = read_mithril_file(path);
  CHECK(versioning::detect_format_version(migrated.structure_json) == kModelFormatVersion);
  CHECK(migrated.metadata.at("model_format_version") == kModelFormatVersion);
  REQUIRE(migrated.parameters.size() == 1);
  CHECK(migrated.parameters[0].second.bitwise_equal(w));
  CHECK(read_mithril_structure(path + ".bak") == old_structure);
  // Down again, losslessly (no functions in it).
  o.target = "1.0.0";
  o.backup = false;
  CHECK(migrate_files(o).migrated == 1);
  CHECK(versioning::detect_format_version(read_mithril_structure(path)) == "1.0.0");
  CHECK(read_mithril_file(path).metadata.at("model_format_version") == "1.0.0");
}

TEST_CASE("migrate_files: JSON that is clearly not a model is skipped, --exclude leaves files out", "[tools][migrate]") {
  TempDir dir;
  put(dir.path / "a.json", R"({"name": "Relu"})");
  put(dir.path / "config.json", R"({"lr": 0.1, "epochs": 3})");
  put(dir.path / "inputs/x.json", R"({"input": [[1, 2]]})");
  put(dir.path / "broken.json", R"([1, 2])");  // not an object: might be a damaged model, fails
  MigrateOptions o;
  o.paths = {dir.path.string()};
  o.mode = MigrateMode::check;
  MigrateReport r = migrate_files(o);
  CHECK(r.needs_migration == 1);
  CHECK(r.skipped == 2);
  CHECK(r.failed == 1);
  for (const FileResult& f : r.files)
    if (f.status == FileStatus::skipped) CHECK(f.note.find("without \"name\" or \"version\"") != std::string::npos);
  CHECK(r.summary().find("1 failed, 2 skipped (not model dicts)") != std::string::npos);
  CHECK(r.to_json().find("\"skipped\": 2") != std::string::npos);

  o.exclude = {"broken.json", "inputs/*"};
  r = migrate_files(o);
  CHECK(r.files.size() == 2);
  CHECK(r.failed == 0);
  CHECK(r.skipped == 1);
  CHECK(r.exit_code() == kExitCheckFailed);

  // A file named on the command line is what the user asked for: never skipped.
  o.paths = {(dir.path / "config.json").string()};
  o.exclude.clear();
  r = migrate_files(o);
  REQUIRE(r.files.size() == 1);
  CHECK(r.files[0].status == FileStatus::failed);
}
