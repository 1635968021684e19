#!/bin/bash
# Keep the cluster autoscaler from removing this node while jobs run on it.
# DaemonSet pods do not block a scale-down, whatever their safe-to-evict annotation says, so the
# guard marks the *node* instead: cluster-autoscaler.kubernetes.io/scale-down-disabled=true while
# the startd has running jobs, removed when it is idle. Needs RBAC: nodes get/patch (granted only
# when the guard is enabled) and CONDORFED_NODE_NAME from the Downward API.
set -u
interval="${CONDORFED_GUARD_INTERVAL:-30}"
node="${CONDORFED_NODE_NAME:?CONDORFED_NODE_NAME must be set}"
sa=/var/run/secrets/kubernetes.io/serviceaccount
api="https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}"
key="cluster-autoscaler.kubernetes.io/scale-down-disabled"
last=""

patch() {
    # $1: "true" or null (JSON merge patch: null deletes the annotation)
    local value="$1" body
    if [ "$value" = null ]; then body="{\"metadata\":{\"annotations\":{\"$key\":null}}}"
    else body="{\"metadata\":{\"annotations\":{\"$key\":\"true\"}}}"; fi
    curl -sS --fail --max-time 10 --cacert "$sa/ca.crt" \
        -H "Authorization: Bearer $(cat "$sa/token")" \
        -H "Content-Type: application/merge-patch+json" \
        -X PATCH --data "$body" "$api/api/v1/nodes/$node" >/dev/null
}

while true; do
    # condor_who lists the jobs running here, one per line, with a JOB column like 1234.0.
    if condor_who 2>/dev/null | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+$/) f = 1}
                                     END {exit !f}'; then
        want=true
    else
        want=null
    fi
    if [ "$want" != "$last" ] && patch "$want"; then
        last="$want"
    fi
    sleep "$interval"
done
