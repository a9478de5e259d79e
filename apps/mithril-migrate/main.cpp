// mithril-migrate: upgrade (or, where lossless, downgrade) model files between format versions.
//
//   mithril-migrate models/                      migrate every model file in place (NAME.bak kept)
//   mithril-migrate --check models/              CI: exit 1 and list the files not at the current version
//   mithril-migrate --dry-run old.json           print what each file would become
//   mithril-migrate --to 1.0.0 --output-dir out/ 'models/*.json'
//   find store -name '*.json' | mithril-migrate --jobs 8 --shard 3/16 -
//
// Exit codes: 0 done (or nothing to do), 1 --check found files to migrate, 2 a file failed or bad usage.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "../common/cli_app.h"
#include "tools/migrate.h"

int main(int argc, char** argv) {
  using namespace mithril::tools;
  const std::string tool = "mithril-migrate";
  MigrateOptions o;
  o.path_list = &std::cin;
  bool check_only = false, dry_run_only = false, no_backup = false, json = false, quiet = false, verbose = false;
  std::string shard, shard_by = "hash";
  CLI::App app{"Upgrade (or, where lossless, downgrade) Mithril model files between format versions.\n"
               "Reads structure JSON (.json, including Python Mithril dicts, which have no version), .mbin and .mithril\n"
               "files; folders are searched recursively; '-' reads one path per line from standard input.",
               tool};
  add_version_flag(app, tool);
  app.add_option("paths", o.paths, "Files, folders, glob patterns, or '-'")->required();
  auto* check = app.add_flag("--check", check_only, "Change nothing; exit 1 and list the files not at the target version");
  auto* dry_run = app.add_flag("--dry-run", dry_run_only, "Change nothing; print what each file would become")->excludes(check);
  app.add_option("--to", o.target, "Target format version (default: the current one); python-mithril writes a dict Python Mithril's dict_to_model reads");
  app.add_flag("--no-backup", no_backup, "Do not keep the original as NAME.bak when writing in place");
  app.add_flag("--force", o.force, "Replace files that are read-only (refused otherwise)");
  app.add_option("--output-dir", o.output_dir, "Write migrated files under DIR, mirroring the tree, instead of in place")
      ->excludes(check)
      ->excludes(dry_run);
  app.add_option("--exclude", o.exclude, "Leave out files matching GLOB (path below its folder, or file name; repeatable)");
  app.add_option("-j,--jobs", o.jobs, "Files migrated in parallel")->check(CLI::Range(1, 256));
  app.add_option("--shard", shard, "Handle only shard K of N (0 <= K < N), e.g. a Slurm array or job index");
  app.add_option("--shard-by", shard_by, "How files are split: 'hash' of the relative path (stable when files "
                                           "are added) or 'index' in sorted order")
      ->check(CLI::IsMember({"hash", "index"}));
  app.add_flag("--json", json, "Print a machine-readable report on standard output");
  app.add_flag("-v,--verbose", verbose, "Print the summary line (and skipped files) even when stderr is not a terminal");
  app.add_flag("-q,--quiet", quiet, "No progress or summary line, even on a terminal");
  app.get_formatter()->column_width(34);
  app.footer("\nFiles found in folders or by globs that are JSON objects with neither \"name\" nor \"version\" (every model\n"
             "dict of every version has one) are skipped, not failed: configs and inputs kept beside models. Files named\n"
             "on the command line are always migrated.\n"
             "Exit codes: 0 done (or nothing to do), 1 --check found files not at the target version, 2 a file failed\n"
             "or bad usage.\n"
             "Examples: mithril-migrate --check models/\n"
             "          mithril-migrate --jobs 2 --exclude 'config.json' models/\n"
             "          find store -name '*.json' | mithril-migrate --jobs 8 --shard 3/16 -");
  if (int rc = parse_command_line(app, tool, argc, argv); rc >= 0) return rc;
  return run_guarded(tool, [&] {
    o.mode = check_only ? MigrateMode::check : dry_run_only ? MigrateMode::dry_run : MigrateMode::write;
    o.backup = !no_backup;
    o.shard_by_index = shard_by == "index";
    if (!shard.empty()) {
      Shard s = parse_shard(shard);
      o.shard_index = s.index;
      o.shard_count = s.count;
    }
    // Progress and the summary line only for a person watching a terminal (or --verbose): scripts
    // and CI logs stay quiet unless something is wrong, like the other tools.
    bool tty = isatty(STDERR_FILENO);
    if (!quiet && !json && tty)
      o.on_progress = [](const FileResult&, std::size_t done, std::size_t total) {
        if (done == total || done % 25 == 0) std::fprintf(stderr, "\r%zu/%zu files", done, total);
        if (done == total) std::fprintf(stderr, "\n");
      };
    MigrateReport report = migrate_files(o);
    if (json) {
      std::cout << report.to_json();
      return report.exit_code();
    }
    print_migrate_report(report, verbose, std::cout, std::cerr);
    if (!quiet && (verbose || tty)) std::cerr << tool << ": " << report.summary() << "\n";
    return report.exit_code();
  }, json);
}
