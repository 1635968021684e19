#!/bin/bash
# Create (if needed) and label a member cluster's startd namespace so Pod Security admits the
# privileged startd there, and only there. For operators who deploy the Helm chart instead of
# `condorfed join` (which does this itself).
#   scripts/member-namespace.sh [NAMESPACE] [--context CTX]
set -euo pipefail
ns="${1:-condor}"
shift || true
kubectl "$@" get namespace "$ns" >/dev/null 2>&1 || kubectl "$@" create namespace "$ns"
kubectl "$@" label --overwrite namespace "$ns" \
    pod-security.kubernetes.io/enforce=privileged \
    pod-security.kubernetes.io/enforce-version=latest \
    pod-security.kubernetes.io/audit=privileged \
    pod-security.kubernetes.io/warn=privileged \
    app.kubernetes.io/part-of=condorfed
