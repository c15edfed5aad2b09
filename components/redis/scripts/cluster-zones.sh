#!/bin/sh
# Init container of the cluster bootstrap Job (registry.k8s.io/kubectl image):
# learns the zone of every Redis pod from its node and writes the lines
# "<pod host name>=<zone>" that cluster-bootstrap.sh reads as NODE_ZONES, so
# that no shard is left with its master and all its replicas in one zone.
#
# A pod's zone is its node's TOPOLOGY_KEY label (topology.kubernetes.io/zone);
# a node without that label counts as a zone of its own ("host:<node>"), so
# on a cluster without zones the pairing still spreads copies over hosts.
# It asks the API only for what a narrow Role allows: `get` on the named pods
# and `get` on nodes. Zone-aware pairing is an improvement, never a condition
# of forming the cluster: when a pod is not scheduled within the bound or the
# API refuses, it writes nothing, says why, and exits 0.
#
# The same lines also go to the ConfigMap ZONE_MAP_CONFIGMAP (key
# ZONE_MAP_KEY), which the data pods mount: their self-repair
# (cluster-repair.sh) has no API access and reads the zones from it. That
# needs `patch` on that one ConfigMap (the Role names it); a refused or
# failed write is logged and changes nothing else (exit 0, the file is
# written). When discovery gives up, the ConfigMap keeps the last map.
#
# Environment: ZONE_PODS (pod names, space-separated), NAMESPACE,
# HOST_SUFFIX (".<headless service>.<namespace>.svc.<cluster domain>"), OUT
# (file to write), optional TOPOLOGY_KEY, ZONE_TIMEOUT_SECONDS (120), KUBECTL
# (kubectl), ZONE_MAP_CONFIGMAP (unset: no ConfigMap written), ZONE_MAP_KEY
# (node-zones).
# shellcheck disable=SC2086
set -u
set -f

log() { printf '%s cluster-zones: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

KUBECTL="${KUBECTL:-kubectl}"
KEY="${TOPOLOGY_KEY:-topology.kubernetes.io/zone}"
TIMEOUT="${ZONE_TIMEOUT_SECONDS:-120}"

k() { timeout 20 "$KUBECTL" --request-timeout=15s "$@"; }

# kubectl's own error, if any, goes to the log as it is.
node_of() { k get pod "$1" -n "$NAMESPACE" -o 'go-template={{or .spec.nodeName ""}}'; }

zone_of_node() {
    z="$(k get node "$1" -o "go-template={{with index .metadata.labels \"$KEY\"}}{{.}}{{end}}")" || return 1
    if [ -n "$z" ]; then printf '%s\n' "$z"; else printf 'host:%s\n' "$1"; fi
}

give_up() {
    log "$*; the bootstrap pairs without zones"
    : >"$OUT"
    exit 0
}

: >"$OUT.part"
deadline=$(($(date +%s) + TIMEOUT))
for pod in $ZONE_PODS; do
    node="$(node_of "$pod")" || give_up "cannot read pod $pod"
    until [ -n "$node" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || give_up "pod $pod has no node after ${TIMEOUT}s (not scheduled yet)"
        sleep 2
        node="$(node_of "$pod")" || give_up "cannot read pod $pod"
    done
    zone="$(zone_of_node "$node")" || give_up "cannot read node $node"
    log "$pod runs on $node, zone $zone"
    printf '%s%s=%s\n' "$pod" "$HOST_SUFFIX" "$zone" >>"$OUT.part"
done
mv "$OUT.part" "$OUT"
log "zones of $(wc -l <"$OUT" | tr -d ' ') pods written to $OUT"

# The map for the data pods: a JSON merge patch of one data key, the file's
# lines joined with \n, built in plain sh (the kubectl image has no awk).
# Label values and DNS names hold no quote or backslash; a line with one is
# not written rather than escaped.
publish_map() {
    key="${ZONE_MAP_KEY:-node-zones}"
    lines=""
    while IFS= read -r line; do
        case "$line" in *'"'* | *'\'*)
            log "not writing ConfigMap $ZONE_MAP_CONFIGMAP: a line holds a quote or backslash ($line)"
            return 0 ;;
        esac
        lines="$lines$line\\n"
    done <"$OUT"
    if k patch configmap "$ZONE_MAP_CONFIGMAP" -n "$NAMESPACE" --type merge -p "{\"data\":{\"$key\":\"$lines\"}}" >/dev/null; then
        log "zone map written to ConfigMap $ZONE_MAP_CONFIGMAP (key $key), read by the data pods' self-repair"
    else
        log "could not write ConfigMap $ZONE_MAP_CONFIGMAP (kubectl's error above); the data pods' self-repair keeps the map it had"
    fi
}
if [ -n "${ZONE_MAP_CONFIGMAP:-}" ]; then publish_map; fi
