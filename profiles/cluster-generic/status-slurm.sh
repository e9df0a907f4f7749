#!/usr/bin/env bash
# Job state for snakemake-executor-plugin-cluster-generic: prints running, success or failed.
# Usage: status-slurm.sh JOBID   (sbatch --parsable may print "JOBID;CLUSTER")
set -uo pipefail
jobid="${1%%;*}"
state="$(scontrol show job -o "$jobid" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')"
if [[ -z $state ]] && command -v sacct >/dev/null; then
    # Gone from the controller's memory (older than MinJobAge): ask accounting, where it exists.
    state="$(sacct -n -X -P -o State -j "$jobid" 2>/dev/null | head -1 | cut -d' ' -f1)"
fi
case "$state" in
    COMPLETED) echo success ;;
    PENDING | CONFIGURING | RUNNING | COMPLETING | SUSPENDED | REQUEUED | REQUEUE_HOLD | REQUEUE_FED | RESIZING | SIGNALING | STAGE_OUT | STOPPED | PREEMPTED)
        echo running ;;
    "")
        # Unknown to squeue and sacct: treat as failed rather than wait forever.
        echo failed ;;
    *) echo failed ;; # FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, DEADLINE
esac
