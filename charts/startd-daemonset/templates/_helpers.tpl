{{/* Shared pieces. Names and text match condorfed/core/render (the CLI) byte for byte. */}}

{{- define "condorfed-startd.guard" -}}
{{- if kindIs "invalid" .Values.autoscalerGuard -}}{{ .Values.cloud }}{{- else -}}{{ .Values.autoscalerGuard }}{{- end -}}
{{- end -}}

{{/* A float as Python's repr writes it (1.0, not 1), so the ClassAd value stays a real. */}}
{{- define "condorfed-startd.real" -}}
{{- $v := . | float64 -}}
{{- if eq $v (floor $v) -}}{{ printf "%.1f" $v }}{{- else -}}{{ $v }}{{- end -}}
{{- end -}}

{{- define "condorfed-startd.labelPairs" -}}
{{- $pairs := list -}}
{{- range $k, $v := .Values.labels -}}{{- $pairs = append $pairs (printf "%s=%s" $k $v) -}}{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{- define "condorfed-startd.attrs" -}}
{{- $attrs := list "FedCluster" "FedProvider" "IsCloud" "CostPerCoreHour" "FedWeight" "FedLabels" "K8sNodeName" -}}
{{- range $k, $v := .Values.labels -}}{{- $attrs = append $attrs (printf "FedLabel_%s" (regexReplaceAll "[^A-Za-z0-9_]" $k "_")) -}}{{- end -}}
{{- join " " $attrs -}}
{{- end -}}

{{/* The startd's config.d file: same text as condorfed/templates/condor/startd.conf.j2. */}}
{{- define "condorfed-startd.config" -}}
# Written by condorfed for member cluster {{ .Values.cluster }}. Re-run `condorfed join` to change it.

# The host cluster's collector: this startd advertises there and is matched by its negotiator.
CONDOR_HOST = {{ .Values.collector.host }}
COLLECTOR_HOST = {{ .Values.collector.host }}:{{ .Values.collector.port }}
DAEMON_LIST = MASTER, STARTD
# IDTOKENs are issued by the host pool: their `iss` must equal the collector's TRUST_DOMAIN.
TRUST_DOMAIN = {{ .Values.trustDomain }}
{{- if .Values.ccb }}
# Startds sit behind this cluster's network: schedds reach them through the host collector (CCB).
CCB_ADDRESS = $(COLLECTOR_HOST)
{{- end }}

# One partitionable slot holding what this pod may use (Downward API limits, not the host's total).
use feature : PartitionableSlot
NUM_CPUS = $ENV(CONDORFED_CPUS:$(DETECTED_CPUS_LIMIT))
MEMORY = $ENV(CONDORFED_MEMORY_MB:$(DETECTED_MEMORY))
# Left for condor_master and condor_startd themselves, so jobs cannot push the pod over its limit.
RESERVED_MEMORY = {{ .Values.reservedMemoryMB }}

# A drain (pod termination, rollout, node drain) lets running jobs retire for this long.
# The pod's terminationGracePeriodSeconds is this plus a margin.
MAXJOBRETIREMENTTIME = {{ .Values.maxJobRetirementTime }}
{{- if .Values.cloud }}
# Cloud worker: an unclaimed startd shuts down after this long, a backstop for burst scale-down.
STARTD_NOCLAIM_SHUTDOWN = {{ .Values.startdNoclaimShutdown }}
{{- end }}

# What the federation's policy matches and ranks on.
FedCluster = "{{ .Values.cluster }}"
FedProvider = "{{ .Values.provider }}"
IsCloud = {{ if .Values.cloud }}True{{ else }}False{{ end }}
CostPerCoreHour = {{ include "condorfed-startd.real" .Values.costPerCoreHour }}
FedWeight = {{ include "condorfed-startd.real" .Values.weight }}
FedLabels = "{{ include "condorfed-startd.labelPairs" . }}"
# The Kubernetes node this startd runs on: the burst controller labels, cordons and drains by it.
K8sNodeName = "$ENV(CONDORFED_NODE_NAME)"
{{- range $k, $v := .Values.labels }}
FedLabel_{{ regexReplaceAll "[^A-Za-z0-9_]" $k "_" }} = "{{ $v }}"
{{- end }}
STARTD_ATTRS = $(STARTD_ATTRS) {{ include "condorfed-startd.attrs" . }}
{{ end -}}

{{- define "condorfed-startd.selector" -}}
app.kubernetes.io/name: condorfed-startd
condorfed.io/cluster: {{ .Values.cluster | quote }}
{{- end -}}

{{- define "condorfed-startd.labels" -}}
{{ include "condorfed-startd.selector" . }}
app.kubernetes.io/part-of: condorfed
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end -}}
