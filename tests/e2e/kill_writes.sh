#!/usr/bin/env bash
# kill -9 at random moments while mithril-save, mithril-convert and mithril-migrate write large
# files (issue 10): every destination afterwards is byte for byte the old file or the complete new
# one, never half of either; a migration's backup is absent or the complete old file; and the
# temporaries a killed run leaves (.NAME.tmp-XXXXXX) are removed by the next run that writes in
# that folder. MITHRIL_KILL_RUNS sets the runs per tool (default 50).
source "$(dirname "$0")/lib/common.bash"
MIGRATE="$MITHRIL_BIN/mithril-migrate"
runs=${MITHRIL_KILL_RUNS:-50}
dims=1000,2000,1000  # 4 million float32 parameters: 16 MB per file

temporaries() { find "$1" -maxdepth 1 -name '.*.tmp-*' | wc -l; }
is_one_of() {  # FILE OLD NEW WHAT
  checks=$((checks + 1))
  cmp -s "$1" "$2" || cmp -s "$1" "$3" || fail "$4: $1 is neither the old nor the new file ($(stat -c %s "$1") bytes)"
}
now_ms() { date +%s%3N; }

# The old and new contents of every destination, made by runs that were not interrupted.
expect 0 "$SAVE" mlp --arg dims=$dims --seed 1 -o old.mbin --params old.npz -o old.mithril
expect 0 "$SAVE" mlp --arg dims=$dims --seed 2 -o new.mbin --params new.npz
expect 0 "$CONVERT" new.mbin -o new.mithril
cp old.mbin v100.mbin
expect 0 "$MIGRATE" -q --no-backup --to 1.0.0 v100.mbin
cp v100.mbin migrated.mbin
expect 0 "$MIGRATE" -q --no-backup migrated.mbin

killed=0 completed=0 left_behind=0
# kill_loop NAME DIR SETUP CHECK CMD...: runs CMD `runs` times, each killed with SIGKILL after a
# random delay in [0, 1.2 x the time of one uninterrupted run]; SETUP puts the old files in DIR
# first, CHECK checks what is there afterwards.
kill_loop() {
  local name=$1 dir=$2 setup=$3 check=$4
  shift 4
  mkdir -p "$dir"
  $setup
  local t0 t1 span i pid rc delay
  t0=$(now_ms)
  "$@" >/dev/null 2>&1 || fail "$name: an uninterrupted run failed"
  t1=$(now_ms)
  span=$(((t1 - t0) * 12 / 10 + 1))
  $check
  for ((i = 0; i < runs; i++)); do
    $setup
    delay=$((RANDOM * 32768 + RANDOM))
    delay=$((delay % span))
    "$@" >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -9 $pid 2>/dev/null || true
    rc=0
    { wait $pid; } 2>/dev/null || rc=$?  # (bash reports the kill on stderr otherwise)
    if ((rc == 137)); then killed=$((killed + 1)); elif ((rc == 0)); then completed=$((completed + 1)); else
      fail "$name: run $i exited $rc"
    fi
    (($(temporaries "$dir") == 0)) || left_behind=$((left_behind + 1))
    $check
    # Each run removes what the runs killed before it left: at most the last one's remain.
    checks=$((checks + 1))
    (($(temporaries "$dir") <= 2)) || fail "$name: $(temporaries "$dir") temporaries after run $i: $(ls -A "$dir" | tr '\n' ' ')"
  done
  # The next run that writes in the folder cleans up after the killed ones.
  $setup
  "$@" >/dev/null 2>&1 || fail "$name: the final run failed"
  checks=$((checks + 1))
  (($(temporaries "$dir") == 0)) || fail "$name: temporaries of killed runs were not removed: $(ls -A "$dir" | tr '\n' ' ')"
  $check
  echo "$name: $runs runs, killed within ${span} ms" >&2
}

save_setup() { cp old.mbin s/m.mbin && cp old.npz s/p.npz; }
save_check() {
  is_one_of s/m.mbin old.mbin new.mbin mithril-save
  is_one_of s/p.npz old.npz new.npz "mithril-save --params"
}
kill_loop mithril-save s save_setup save_check "$SAVE" mlp --arg dims=$dims --seed 2 -o s/m.mbin --params s/p.npz

convert_setup() { cp old.mithril c/m.mithril; }
convert_check() { is_one_of c/m.mithril old.mithril new.mithril mithril-convert; }
kill_loop mithril-convert c convert_setup convert_check "$CONVERT" new.mbin -o c/m.mithril

migrate_setup() { cp v100.mbin g/m.mbin && rm -f g/m.mbin.bak; }
migrate_check() {
  is_one_of g/m.mbin v100.mbin migrated.mbin mithril-migrate
  if [[ -e g/m.mbin.bak ]]; then
    checks=$((checks + 1))
    cmp -s g/m.mbin.bak v100.mbin || fail "mithril-migrate: the backup is not the complete old file"
  fi
}
kill_loop mithril-migrate g migrate_setup migrate_check "$MIGRATE" -q g/m.mbin

echo "killed $killed runs, $completed completed before the kill; $left_behind kills left a temporary behind" >&2
# The test means something only if kills landed during the writes.
checks=$((checks + 1))
((killed > 0 && left_behind > 0)) || fail "no kill landed during a write (killed $killed, temporaries left $left_behind)"
finish
