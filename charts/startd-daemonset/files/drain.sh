#!/bin/bash
# Drain the local startd gracefully and wait, with a bound, until its jobs are gone.
# Used as the pod's preStop hook and by the entrypoint on SIGTERM.
#   startd-drain.sh [TIMEOUT_SECONDS]   (default: CONDORFED_DRAIN_TIMEOUT, else 3600)
#
# First `condor_drain -graceful`: no new matches, running jobs retire for up to
# MAXJOBRETIREMENTTIME, the master stays up to report. If the drain command is refused (it needs
# ADMINISTRATOR at the startd, which the member's token does not carry), SIGTERM to condor_master
# asks for the same thing: a graceful shutdown, in which the startd also lets jobs retire.
# At the bound, SIGQUIT (fast shutdown) ends what is left.
set -u
timeout_s="${1:-${CONDORFED_DRAIN_TIMEOUT:-3600}}"
pid_file="${CONDORFED_RUN_DIR:-/tmp}/condor_master.pid"
deadline=$(( $(date +%s) + timeout_s ))

log() { echo "condorfed-drain: $*" >&2; }
master_pid() { [ -s "$pid_file" ] && cat "$pid_file"; }
master_alive() { local p; p="$(master_pid)" && kill -0 "$p" 2>/dev/null; }
busy() {
    # condor_who lists the jobs running here, one per line, with a JOB column like 1234.0.
    condor_who 2>/dev/null | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+$/) found = 1}
                                  END {exit !found}'
}

name="$(condor_config_val STARTD_NAME 2>/dev/null || true)"
[ -n "$name" ] || name="$(condor_config_val FULL_HOSTNAME 2>/dev/null || hostname -f)"
if condor_drain -graceful -reason "kubernetes pod termination" "$name" >/dev/null 2>&1; then
    log "condor_drain -graceful accepted for $name"
elif master_alive; then
    log "condor_drain refused; asking condor_master for a graceful shutdown"
    kill -TERM "$(master_pid)"
fi

while master_alive && busy; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        log "jobs still running after ${timeout_s}s; fast shutdown"
        kill -QUIT "$(master_pid)" 2>/dev/null
        exit 1
    fi
    sleep "${CONDORFED_DRAIN_POLL:-5}"
done
log "startd drained"
exit 0
