#!/usr/bin/env bash
# The suite must mean the same on a loaded machine: runs `npm test` three times in a row while two
# CPU-burning processes run beside it, prints each run's pass/fail counts, and exits non-zero when
# any run fails. Extra arguments go to jest (e.g. a path pattern, to try the script on a subset):
#   scripts/test-under-load.sh                       # the whole suite, three times
#   scripts/test-under-load.sh test/alerts           # only these tests, three times
set -uo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
burners=()
stop_burners() {
  for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null; done
  wait "${burners[@]}" 2>/dev/null
}
trap stop_burners EXIT INT TERM

for _ in 1 2; do
  node -e 'for (;;) {}' &
  burners+=("$!")
done
echo "[load] CPU burners running: pids ${burners[*]} (load average: $(cut -d' ' -f1-3 /proc/loadavg))"

failed_runs=0
summary=$(mktemp)
for run in $(seq 1 "$RUNS"); do
  started=$(date +%s)
  npm test -- --json --outputFile="$summary" "$@" >"$summary.log" 2>&1
  status=$?
  counts=$(node -e '
    try {
      const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(`${s.numPassedTests} passed, ${s.numFailedTests} failed, suites ${s.numPassedTestSuites} passed / ${s.numFailedTestSuites} failed`);
      for (const r of s.testResults) if (r.status !== "passed") console.log(`  FAILED ${r.name.replace(process.cwd() + "/", "")}`);
    } catch { console.log("no jest summary (see the log)"); }
  ' "$summary")
  echo "[load] run $run/$RUNS: exit $status in $(( $(date +%s) - started )) s, load average $(cut -d' ' -f1-3 /proc/loadavg): $counts"
  if [ "$status" -ne 0 ]; then
    failed_runs=$((failed_runs + 1))
    cp "$summary.log" "test-under-load-run-$run.log"
    echo "[load] run $run's output kept in test-under-load-run-$run.log"
  fi
done
rm -f "$summary" "$summary.log"
echo "[load] $((RUNS - failed_runs)) of $RUNS runs green"
[ "$failed_runs" -eq 0 ]
