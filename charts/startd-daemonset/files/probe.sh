#!/bin/bash
# Liveness/readiness check for the startd. `condor_who` exits 0 even when the startd is not ready,
# so the decision is made on what it prints: the master's ad must say the master is ready and the
# startd daemon is in state "Ready". Empty output (master not answering) is a failure too.
#   startd-probe.sh [WAIT_SECONDS]   exit 0 = ready, 1 = not ready
set -u
wait_s="${1:-5}"
expr='IsReady && STARTD_State =?= "Ready"'
out="$(timeout $((wait_s + 10)) condor_who -wait:"$wait_s" "$expr" -af "$expr" 2>/dev/null)"
out="$(printf '%s' "$out" | tr -d '[:space:]')"
if [ "$out" = "true" ]; then
    exit 0
fi
echo "startd not ready (condor_who said: '${out:-nothing}')" >&2
exit 1
