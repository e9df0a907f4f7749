#!/usr/bin/env bash
# Stop the cluster that tools/slurm/start.sh started in DIR: cancel its jobs, then stop slurmd,
# slurmctld and munged by the pids in their pid files (never by process name).
#
#   tools/slurm/stop.sh DIR [--clean]      # --clean also deletes DIR (logs included)
set -euo pipefail

say() { echo "[slurm stop] $*" >&2; }
DIR="${1:?usage: stop.sh DIR [--clean]}"
CLEAN="${2:-}"
[[ -d $DIR ]] || { say "$DIR does not exist; nothing to stop"; exit 0; }
DIR="$(cd "$DIR" && pwd -P)"

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# The pid in FILE, if that process is still alive and is the program NAME (a stale pid file may
# name a pid that the system has since given to an unrelated process).
pid_of() {
    local file=$1 name=$2 pid
    [[ -s $file ]] || return 0
    pid="$(tr -dc '0-9' <"$file")"
    alive "$pid" || return 0
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || { say "pid $pid in $file is not $name; left alone"; return 0; }
    echo "$pid"
}

stop_pid() {  # TERM, wait up to 10 s, then KILL
    local pid=$1 name=$2
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || { say "stopped $name (pid $pid)"; return 0; }; sleep 0.1; done
    say "$name (pid $pid) ignored TERM; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
}

CTLD="$(pid_of "$DIR/slurmctld.pid" slurmctld)"
# Cancel what is still queued or running, so that no job step outlives the daemons.
if [[ -n $CTLD && -f $DIR/slurm.conf ]]; then
    export SLURM_CONF="$DIR/slurm.conf"
    jobs="$(timeout 10 squeue -h -t PD,R,CG,CF -o %i 2>/dev/null || true)"
    if [[ -n $jobs ]]; then
        say "cancelling jobs: $(echo $jobs)"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 50); do
            [[ -z $(timeout 5 squeue -h -t PD,R,CG,CF -o %i 2>/dev/null || true) ]] && break
            sleep 0.2
        done
    fi
fi

stop_pid "$(pid_of "$DIR/slurmd.pid" slurmd)" slurmd
stop_pid "$CTLD" slurmctld
stop_pid "$(pid_of "$DIR/munge/munged.pid" munged)" munged
rm -f "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munge/munged.pid"
# The link start.sh made for srun inside jobs (only if it points to this cluster).
CONF_LINK=/run/slurm/conf/slurm.conf
if [[ -L $CONF_LINK && $(readlink "$CONF_LINK") == "$DIR/slurm.conf" ]]; then
    rm -f "$CONF_LINK"
    rmdir /run/slurm/conf /run/slurm 2>/dev/null || true
fi

if [[ $CLEAN == --clean ]]; then
    rm -rf "$DIR"
    say "removed $DIR"
else
    say "logs kept in $DIR/log"
fi
