#!/usr/bin/env bash
# Start a single-node Slurm cluster on loopback: a private munged, slurmctld and slurmd, with every
# state file, spool, log and pid file under one folder (nothing written to /etc or /var).
#
#   DIR=$(tools/slurm/start.sh [DIR])      # DIR defaults to a new folder under ${TMPDIR:-/tmp}
#   . "$DIR/env.sh"                        # exports SLURM_CONF; sinfo, sbatch, snakemake now use it
#   snakemake --profile profiles/slurm
#   tools/slurm/stop.sh "$DIR"             # stops the daemons by the pids in their pid files
#
# Needs root and the Debian packages slurmctld slurmd slurm-client munge (Slurm 22.05 on Debian 12):
#   apt-get install -y slurmctld slurmd slurm-client munge
# Only for CI and for trying profiles/slurm by hand: no accounting, no cgroups (mem_mb is a
# scheduling constraint here, not enforced), one partition "debug".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF_LINK=/run/slurm/conf/slurm.conf
say() { echo "[slurm start] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (slurmd and a private munged need it)"
for cmd in munged munge unmunge slurmctld slurmd sinfo scontrol runuser; do
    command -v "$cmd" >/dev/null || die "$cmd not found; install: apt-get install -y slurmctld slurmd slurm-client munge"
done
id munge >/dev/null 2>&1 || die "no 'munge' user; is the munge package installed?"
[[ -r /etc/munge/munge.key ]] || die "/etc/munge/munge.key missing (created by the munge package)"

DIR="${1:-}"
if [[ -z $DIR ]]; then
    DIR="$(mktemp -d "${TMPDIR:-/tmp}/moflow-slurm.XXXXXX")"
fi
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd -P)"
[[ -e $DIR/slurmctld.pid || -e $DIR/slurmd.pid || -e $DIR/munge/munged.pid ]] &&
    die "$DIR already holds a cluster's pid files; stop it first: $HERE/stop.sh $DIR"
# munged runs as user munge and must reach its socket folder inside DIR.
chmod 0755 "$DIR"
runuser -u munge -- test -x "$DIR" || die "user munge cannot enter $DIR; pick a folder under /tmp"
mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"

# Whatever fails from here on: stop what was already started.
trap 'rc=$?; if [[ $rc -ne 0 ]]; then say "start failed; stopping what was started"; "$HERE/stop.sh" "$DIR" >&2 || true; fi' EXIT

# --- munge: a private daemon with its own socket, pid, log and seed files ---------------------
install -d -o munge -g munge -m 0711 "$DIR/munge"
SOCK="$DIR/munge/munge.socket"
runuser -u munge -- /usr/sbin/munged --socket="$SOCK" --pid-file="$DIR/munge/munged.pid" \
    --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed"
for _ in $(seq 50); do
    munge -n -S "$SOCK" 2>/dev/null | unmunge -S "$SOCK" >/dev/null 2>&1 && break
    sleep 0.1
done
munge -n -S "$SOCK" | unmunge -S "$SOCK" >/dev/null || die "munged does not answer; see $DIR/munge/munged.log"

# --- slurm.conf from the template ------------------------------------------------------------
free_port() {  # the preferred port if it is free on 127.0.0.1, else any free one
    python3 - "$1" <<'PY'
import socket, sys
for port in (int(sys.argv[1]), 0):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(s.getsockname()[1])
        break
    except OSError:
        pass
    finally:
        s.close()
PY
}
CTLD_PORT="$(free_port 6817)"
SLURMD_PORT="$(free_port 6818)"
[[ $SLURMD_PORT != "$CTLD_PORT" ]] || SLURMD_PORT="$(free_port 0)"
NODE="$(hostname -s)"
CPUS="$(nproc)"
MEMORY="$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')"
MEMORY=$((MEMORY > 2048 ? MEMORY - 1024 : MEMORY))
# Bind to loopback only where the host name resolves to 127.x (else the daemons could not talk).
COMM_PARAMS="# CommunicationParameters left at the default: $NODE does not resolve to 127.x"
if getent hosts "$NODE" | awk '{print $1}' | grep -q '^127\.'; then
    COMM_PARAMS="CommunicationParameters=NoInAddrAny,NoCtldInAddrAny"
fi
sed -e "s|@DIR@|$DIR|g" -e "s|@HOST@|$NODE|g" -e "s|@NODE@|$NODE|g" -e "s|@CPUS@|$CPUS|g" \
    -e "s|@MEMORY@|$MEMORY|g" -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" \
    -e "s|@COMM_PARAMS@|$COMM_PARAMS|g" "$HERE/slurm.conf.template" >"$DIR/slurm.conf"
printf 'export SLURM_CONF=%q\n' "$DIR/slurm.conf" >"$DIR/env.sh"
export SLURM_CONF="$DIR/slurm.conf"

# snakemake-executor-plugin-slurm-jobstep (0.6.1) drops SLURM_CONF from the environment of the
# `srun` it runs inside each job, so srun only finds a configuration at Slurm's default places:
# /etc/slurm/slurm.conf, then /run/slurm/conf/slurm.conf (where a configless slurmd caches it).
# Link the second to this cluster's file for as long as it runs; stop.sh removes the link.
[[ -e /etc/slurm/slurm.conf ]] && die "/etc/slurm/slurm.conf exists: this host belongs to another Slurm cluster"
if [[ -L $CONF_LINK && ! -e $CONF_LINK ]]; then
    rm -f "$CONF_LINK" # left by a cluster that is gone
fi
[[ -e $CONF_LINK || -L $CONF_LINK ]] &&
    die "$CONF_LINK exists ($(readlink "$CONF_LINK" || echo 'not a link')): stop that cluster first"
mkdir -p "$(dirname "$CONF_LINK")"
ln -s "$DIR/slurm.conf" "$CONF_LINK"

# --- the daemons (both fork and write their pid files) ---------------------------------------
slurmctld -f "$SLURM_CONF" || die "slurmctld did not start; see $DIR/log/slurmctld.log"
slurmd -f "$SLURM_CONF" || die "slurmd did not start; see $DIR/log/slurmd.log"
state=""
for _ in $(seq 150); do
    state="$(sinfo -h -N -o %T 2>/dev/null | head -1 || true)"
    [[ $state == idle ]] && break
    sleep 0.2
done
if [[ $state != idle ]]; then
    tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
    die "node $NODE is '${state:-unknown}', not idle, after 30 s"
fi
say "cluster up: node $NODE ($CPUS CPUs, $MEMORY MB), partition debug, ports $CTLD_PORT/$SLURMD_PORT"
say "use it:  . $DIR/env.sh     stop it:  $HERE/stop.sh $DIR"
trap - EXIT
echo "$DIR"
