#!/bin/bash
# condorfed startd entrypoint: run condor_master in the foreground of this container and turn
# the pod's SIGTERM into a bounded, graceful drain instead of an abrupt kill.
#
# The official htcondor/execute image starts supervisord, which stops condor_master with SIGKILL
# after 10 s; running jobs would die with it. Here the master is our child, SIGTERM is forwarded
# after the startd has drained (running jobs may retire for MAXJOBRETIREMENTTIME), and the whole
# shutdown is bounded by CONDORFED_SHUTDOWN_TIMEOUT, which must stay below the pod's
# terminationGracePeriodSeconds.
set -u

SHUTDOWN_TIMEOUT="${CONDORFED_SHUTDOWN_TIMEOUT:-3600}"
SCRIPTS_DIR="${CONDORFED_SCRIPTS_DIR:-/opt/condorfed}"

log() { echo "condorfed-entrypoint: $*" >&2; }

# Official-image convention: tokens are mounted read-only in tokens-orig.d and copied into
# tokens.d, which HTCondor requires to be owned by root and not readable by others.
if [ -d /etc/condor/tokens-orig.d ]; then
    install -d -m 0700 /etc/condor/tokens.d
    for f in /etc/condor/tokens-orig.d/*; do
        [ -f "$f" ] && install -m 0600 "$f" "/etc/condor/tokens.d/$(basename "$f")"
    done
fi

master_pid=""
shutting_down=0

on_term() {
    [ "$shutting_down" = 1 ] && return
    shutting_down=1
    log "SIGTERM: draining the startd (bounded by ${SHUTDOWN_TIMEOUT}s)"
    # The preStop hook normally drained already; this covers a SIGTERM without one (e.g. eviction API).
    timeout "$SHUTDOWN_TIMEOUT" "$SCRIPTS_DIR/drain.sh" || log "drain did not finish in time"
    if [ -n "$master_pid" ] && kill -0 "$master_pid" 2>/dev/null; then
        log "forwarding SIGTERM to condor_master ($master_pid)"
        kill -TERM "$master_pid"
    fi
}
trap on_term TERM INT

if [ "${CONDORFED_NODE_GUARD:-0}" = 1 ]; then
    "$SCRIPTS_DIR/node-guard.sh" &
fi

condor_master -f &
master_pid=$!
mkdir -p "${CONDORFED_RUN_DIR:-/tmp}"
echo "$master_pid" > "${CONDORFED_RUN_DIR:-/tmp}/condor_master.pid"

# `wait` returns early when a trapped signal arrives: keep waiting until the master is gone,
# with a hard bound once shutdown has started.
deadline=""
while kill -0 "$master_pid" 2>/dev/null; do
    wait "$master_pid"
    status=$?
    if [ "$shutting_down" = 1 ]; then
        [ -z "$deadline" ] && deadline=$(( $(date +%s) + ${CONDORFED_STOP_TIMEOUT:-30} ))
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "condor_master still running after SIGTERM; sending SIGQUIT (fast shutdown)"
            kill -QUIT "$master_pid" 2>/dev/null
            deadline=$(( $(date +%s) + 3600 ))
        fi
        sleep 1
    fi
done
wait "$master_pid" 2>/dev/null
status=$?
log "condor_master exited with status $status"
exit "$status"
