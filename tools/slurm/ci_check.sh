#!/usr/bin/env bash
# Proof on a real scheduler, for CI and by hand:
#   1. start a single-node Slurm cluster on loopback (tools/slurm/start.sh) in a temporary folder;
#   2. write the tiny end-to-end cohort of tests/e2e (make_project) into three folders;
#   3. run it locally, through `--profile profiles/slurm`, and, with one negative RNA count planted,
#      through the profile again (all three at once: the Slurm runs mostly wait on status polls);
#   4. check that every table of the Slurm run equals the local one byte for byte, and that the
#      planted error failed the Slurm run with the rule's log shown and one retry with twice the memory;
#   5. stop the daemons by their pids (a trap does it on every exit, failures included).
# Needs root, the Debian packages  apt-get install -y slurmctld slurmd slurm-client munge  and an
# activated environment with this package and its Slurm extra:  pip install -e '.[slurm]'
# MOFLOW_SLURM_KEEP=1 keeps the temporary folder (runs, logs, cluster state) for a look afterwards.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
say() { echo "[slurm check] $*" >&2; }
fail() {
    say "FAILED: $*"
    exit 1
}
command -v snakemake >/dev/null || fail "snakemake not on PATH; activate the environment first"
python -c "import snakemake_executor_plugin_slurm" 2>/dev/null ||
    fail "the Slurm executor plugin is missing: pip install -e '.[slurm]'"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/moflow-slurm-check.XXXXXX")"
chmod 0755 "$WORK"
CLUSTER="$WORK/cluster"
cleanup() {
    local rc=$?
    trap - EXIT
    # Children first (a Snakemake still polling would resubmit), then the daemons.
    for pid in ${RUN_PIDS:-}; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$REPO/tools/slurm/stop.sh" "$CLUSTER" 2>&1 | sed 's/^/  /' >&2 || true
    if [[ $rc -eq 0 && ${MOFLOW_SLURM_KEEP:-0} != 1 ]]; then
        rm -rf "$WORK"
    else
        say "kept $WORK (runs: local/ slurm/ failing/, logs: *.log, cluster: cluster/log/)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$SECONDS
"$REPO/tools/slurm/start.sh" "$CLUSTER" >/dev/null
# shellcheck source=/dev/null
. "$CLUSTER/env.sh"
python tools/slurm/make_tiny.py "$WORK/local" "$WORK/slurm"
python tools/slurm/make_tiny.py --negative-count "$WORK/failing"
say "cluster up and cohorts written in $((SECONDS - T0)) s"

T1=$SECONDS
snakemake -s Snakefile -d "$WORK/local" --cores 2 >"$WORK/local.log" 2>&1 &
LOCAL_PID=$!
snakemake -s Snakefile -d "$WORK/slurm" --profile profiles/slurm >"$WORK/slurm.log" 2>&1 &
SLURM_PID=$!
snakemake -s Snakefile -d "$WORK/failing" --profile profiles/slurm >"$WORK/failing.log" 2>&1 &
FAIL_PID=$!
RUN_PIDS="$LOCAL_PID $SLURM_PID $FAIL_PID"
LOCAL_RC=0 SLURM_RC=0 FAIL_RC=0
wait "$LOCAL_PID" || LOCAL_RC=$?
LOCAL_S=$((SECONDS - T1))
wait "$FAIL_PID" || FAIL_RC=$?
wait "$SLURM_PID" || SLURM_RC=$?
SLURM_S=$((SECONDS - T1))
RUN_PIDS=""
say "local run: exit $LOCAL_RC after ${LOCAL_S} s; Slurm runs: exit $SLURM_RC (tiny cohort), $FAIL_RC (planted error), all done after ${SLURM_S} s"
[[ $LOCAL_RC -eq 0 ]] || { tail -n 40 "$WORK/local.log" >&2; fail "the local run failed"; }
[[ $SLURM_RC -eq 0 ]] || { tail -n 60 "$WORK/slurm.log" >&2; fail "the Slurm run failed"; }
grep -q "submitted with SLURM jobid" "$WORK/slurm.log" || fail "no job went through Slurm"

# --- the Slurm run's tables equal the local run's, byte for byte -----------------------------
# Tables (TSV) and matrices (Parquet) are deterministic; the HDF5 model, figures, the HTML report
# and the provenance manifest carry time stamps or the working folder and are left out.
list_tables() { (cd "$1" && find results -type f \( -name '*.tsv' -o -name '*.parquet' \) | LC_ALL=C sort); }
list_tables "$WORK/local" >"$WORK/local.files"
list_tables "$WORK/slurm" >"$WORK/slurm.files"
if ! diff -u "$WORK/local.files" "$WORK/slurm.files" >&2; then
    fail "the two runs wrote different sets of tables"
fi
N_FILES=$(wc -l <"$WORK/local.files")
[[ $N_FILES -ge 20 ]] || fail "only $N_FILES tables to compare"
DIFFERENT=0
while IFS= read -r rel; do
    cmp -s "$WORK/local/$rel" "$WORK/slurm/$rel" || {
        say "differs: $rel"
        DIFFERENT=$((DIFFERENT + 1))
    }
done <"$WORK/local.files"
[[ $DIFFERENT -eq 0 ]] || fail "$DIFFERENT of $N_FILES tables differ between the local and the Slurm run"
say "local vs Slurm: $N_FILES tables identical byte for byte (results/**/*.tsv, *.parquet)"

# --- the planted error fails the Slurm run and shows the rule's log ---------------------------
LOG="$WORK/failing.log"
[[ $FAIL_RC -ne 0 ]] || fail "the run with a negative count succeeded on Slurm"
grep -q "Error in rule validate_inputs" "$LOG" || fail "no 'Error in rule validate_inputs' in $LOG"
grep -q "Logfile logs/inputs/validate_inputs.log" "$LOG" || fail "show-failed-logs did not print the rule's log"
# The rule's log must carry the error itself (moflow.runtime.setup writes uncaught exceptions there;
# on Slurm the job's stderr only reaches the scheduler's log file).
grep -q "ERROR Error: .*negative count" "$LOG" ||
    fail "the rule's log, as shown, does not contain the error ('negative count')"
# retries: 1 -> resubmitted once, asking for more memory (resources grow with the attempt)
grep -q "Trying to restart job" "$LOG" || fail "the failed job was not retried"
mapfile -t MEMS < <(grep -o 'mem_mb=[0-9]*' "$LOG" | cut -d= -f2 | sort -n -u)
[[ ${#MEMS[@]} -ge 2 && ${MEMS[-1]} -gt ${MEMS[0]} ]] ||
    fail "the retry did not ask for more memory (saw mem_mb ${MEMS[*]:-none})"
[[ ! -e $WORK/failing/results/preprocess ]] || fail "the failing run wrote preprocessing outputs"
say "planted error: run failed (exit $FAIL_RC), rule log shown, retried with mem_mb ${MEMS[0]} -> ${MEMS[-1]}"

say "passed in $((SECONDS - T0)) s"
