#!/bin/sh
# Runs before the data StatefulSet changes, as a Job (components/redis/preroll.py)
# named by a hash of the pod template the roll applies and of the topology:
#   sh /scripts/cluster-preroll.sh
#
# 1. Fewer shards than the live cluster has: drains the leaving shards first
#    (cluster-bootstrap.sh with the new SHARDS: shrink_cluster), so the
#    StatefulSet's scale-down that follows removes emptied pods only. When
#    the data does not fit, that script's one line ("STOPPED: refusing to go
#    from ...; nothing was moved") ends this Job, and `pulumi up` stops there.
# 2. Puts each shard's master on the shard's lowest-ordinal pod of this
#    StatefulSet: a graceful CLUSTER FAILOVER on that replica once it has
#    caught up (the preStop's own test, caught_up_replicas). The StatefulSet
#    controller rolls from the highest ordinal down, so every replica of a
#    shard then restarts on the new template before its master, whose preStop
#    hands over to an already rolled replica: no replica still on the old
#    version ever has to sync from a master on the new one (an older Redis
#    cannot load a newer one's RDB).
#
# Nothing to do (no pod answers: first create; no cluster yet; already in
# that shape): it says so and exits 0 at once. It cannot reach the shape (the
# lowest-ordinal pod of a shard is down or has not caught up within
# PREROLL_WAIT_SECONDS): it checks every shard before moving any, and exits 1
# with one line "STOPPED: shard ...: pod ... <why>; nothing was moved".
#
# Environment: that of cluster-bootstrap.sh (SHARDS, REPLICAS_PER_SHARD,
# STATEFULSET_NAME, HEADLESS_SERVICE, NAMESPACE, CLUSTER_DOMAIN or
# CLUSTER_NODES, REDIS_PORT, REDIS_USER, REDISCLI_AUTH, REDIS_TLS), plus
# PREROLL_WAIT_SECONDS (bound of each wait, default 60), PRESTOP_MAX_LAG_BYTES
# (what "caught up" allows, default 1048576) and PREROLL_SHRINK (no: never
# drain, refuse instead; set while a node-group migration runs).
# shellcheck disable=SC2086
set -u
set -f

SCRIPTS="$(dirname "$0")"
# local_cli (against LOCAL), caught_up_replicas and replica_states (of the
# master LOCAL whose ID is my_id), TLS_ARGS, CLI_USER, PORT.
CLUSTER_PRESTOP_LIB=yes
. "$SCRIPTS/cluster-prestop.sh"

log() { printf '%s cluster-preroll: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() { log "STOPPED: $*"; exit 1; }
# within (each wait below, bounded by WAIT).
. "$SCRIPTS/preroll-lib.sh"
# live_nodes and settle_claims (the claims check below).
. "$SCRIPTS/cluster-lib.sh"

WAIT="${PREROLL_WAIT_SECONDS:-60}"
CLUSTER_DOMAIN="${CLUSTER_DOMAIN:-cluster.local}"
[ -n "${REDISCLI_AUTH:-}" ] || die "REDISCLI_AUTH is empty"
export REDISCLI_AUTH
case "${SHARDS:-}" in '' | *[!0-9]*) die "SHARDS must be a number, got '${SHARDS:-}'" ;; esac
case "${REPLICAS_PER_SHARD:-}" in '' | *[!0-9]*) die "REPLICAS_PER_SHARD must be a number, got '${REPLICAS_PER_SHARD:-}'" ;; esac
[ -n "${STATEFULSET_NAME:-}" ] || die "STATEFULSET_NAME is empty"
if [ -z "${CLUSTER_NODES:-}" ]; then
    i=0
    while [ "$i" -lt $((SHARDS * (1 + REPLICAS_PER_SHARD))) ]; do
        CLUSTER_NODES="${CLUSTER_NODES:-} $STATEFULSET_NAME-$i.$HEADLESS_SERVICE.$NAMESPACE.svc.$CLUSTER_DOMAIN"
        i=$((i + 1))
    done
fi

cli() { h="$1"; shift; timeout 5 redis-cli $CLI_USER $TLS_ARGS -h "$h" -p "$PORT" "$@" 2>/dev/null | tr -d '\r'; }
role_of() { cli "$1" role | head -n 1; }

# Step 0: is there anything to look at? One short try per pod.
ref=""
for n in $CLUSTER_NODES; do
    if [ "$(cli "$n" ping)" = "PONG" ]; then ref="$n"; break; fi
done
if [ -z "$ref" ]; then
    log "no pod of $STATEFULSET_NAME answers (first create, or every pod is down): nothing to move before the roll"
    exit 0
fi
known="$(cli "$ref" cluster info | awk -F: '$1 == "cluster_known_nodes" { print $2 }')"
if [ "${known:-0}" -le 1 ]; then
    log "$ref is in no cluster yet (the bootstrap Job forms it): nothing to move before the roll"
    exit 0
fi

# Step 1: drain first when the new topology has fewer shards.
shards_now="$(cli "$ref" cluster nodes | awk '$3 ~ /(^|,)master(,|$)/ && $3 !~ /fail/ && NF >= 9' | wc -l)"
if [ "$shards_now" -gt "$SHARDS" ]; then
    [ "${PREROLL_SHRINK:-yes}" != no ] ||
        die "the cluster has $shards_now shards and the new topology $SHARDS, while a node-group migration runs: finish the migration before lowering cluster.shards; nothing was moved"
    log "the cluster has $shards_now shards, the new topology $SHARDS: draining the leaving shards before the StatefulSet scales down (cluster-bootstrap.sh)"
    # Its own STOPPED line says why when it refuses (data does not fit).
    sh "$SCRIPTS/cluster-bootstrap.sh" || exit 1
    log "drained: $SHARDS shards left"
fi

# Step 2: the plan, one line per shard of this StatefulSet whose master is
# not on its lowest-ordinal pod: "master-id master-host target-id target-host
# target-addr target-flags target-link". Nodes named by their announced
# hostname <sts>-<ordinal>.<...>; other StatefulSets' pods (a node-group
# migration's other generation) are not this roll's.
plan() {
    cli "$ref" cluster nodes | awk -v sts="$STATEFULSET_NAME" '
        function ordinal(h,   label, rest) {
            split(h, parts, "."); label = parts[1]
            if (index(label, sts "-") != 1) return -1
            rest = substr(label, length(sts) + 2)
            return (rest ~ /^[0-9]+$/) ? rest + 0 : -1
        }
        {
            n = split($2, a, ","); host[$1] = (n >= 2 ? a[2] : ""); split(a[1], b, "@"); addr[$1] = b[1]
            flags[$1] = $3; link[$1] = $8; ord[$1] = ordinal(host[$1])
            if ($3 ~ /(^|,)master(,|$)/ && NF >= 9) master[$1] = 1
            if ($3 ~ /(^|,)slave(,|$)/ && $4 != "-") { of[$1] = $4 }
        }
        END {
            for (m in master) {
                if (ord[m] < 0) continue
                low = m
                for (r in of) if (of[r] == m && ord[r] >= 0 && ord[r] < ord[low]) low = r
                if (low != m) print m, host[m], low, host[low], addr[low], flags[low], link[low]
            }
        }'
}

moves="$(plan)"
# Every master claims the slots the cluster routes to it; a slot it does not
# is claimed back when no replica holds more of its keys (routed_unclaimed,
# settle_claims: cluster-lib.sh). The roll must not start with a slot no
# node serves, and a failover hands over only what the master claims.
settle_claims "$ref" "$WAIT"
if [ -z "$moves" ]; then
    log "every shard's master is already on its lowest-ordinal pod: the roll (highest ordinal first) restarts each replica before its master; nothing to move"
    exit 0
fi

# True when replica address $3 is among the caught-up replicas of master $1 (host) / $2 (ID).
caught_up() { LOCAL="$1"; my_id="$2"; caught_up_replicas | awk -v a="$3" '$2 == a { f = 1 } END { exit !f }'; }

# Every shard first, nothing moved until all can be.
printf '%s\n' "$moves" | while read -r mid mhost tid thost taddr tflags tlink; do
    case "$tflags" in *fail* | *handshake* | *noaddr*)
        die "shard of master $mhost: its lowest-ordinal pod $thost is flagged $tflags in the cluster (down?), so it cannot take the master role before the roll; nothing was moved" ;;
    esac
    [ "$(cli "$thost" ping)" = "PONG" ] ||
        die "shard of master $mhost: its lowest-ordinal pod $thost does not answer (down?), so it cannot take the master role before the roll; nothing was moved"
    [ "$tlink" = connected ] || log "note: $thost's bus link is $tlink as $ref sees it"
    within "$WAIT" "$thost ($taddr), the lowest-ordinal pod of the shard of master $mhost, to catch up" \
        caught_up "$mhost" "$mid" "$taddr" || {
        LOCAL="$mhost"
        die "shard of master $mhost: its lowest-ordinal pod $thost has not caught up within ${WAIT}s (online, at most $MAX_LAG bytes behind): $(replica_states); nothing was moved"
    }
    log "shard of master $mhost: $thost is the lowest-ordinal pod and has caught up"
done || exit 1

# True when host $1 is a master and host $2 a replica.
swapped() { [ "$(role_of "$1")" = master ] && [ "$(role_of "$2")" = slave ]; }
# True when $ref sees no replica of node $1 left and $1 itself following node $2.
followed() {
    cli "$ref" cluster nodes | awk -v old="$1" -v new="$2" '
        $4 == old { stale = 1 } $1 == old && $4 == new { followed = 1 } END { exit !(followed && !stale) }'
}

printf '%s\n' "$moves" | while read -r mid mhost tid thost taddr tflags tlink; do
    log "shard of master $mhost: handing the master role to $thost (graceful CLUSTER FAILOVER: writes pause until it holds every one)"
    answer="$(cli "$thost" cluster failover)"
    [ "$answer" = "OK" ] || die "shard of master $mhost: $thost refused CLUSTER FAILOVER (${answer:-no answer}); the shards before it were moved"
    within "$WAIT" "" swapped "$thost" "$mhost" ||
        die "shard of master $mhost: $thost did not take the master role within ${WAIT}s; the shards before it were moved"
    took=$waited
    # The shard's other replicas learn the new master by gossip: wait until
    # $ref sees every copy of the shard following it (the rest of the bound).
    within $((WAIT - took)) "" followed "$mid" "$tid" ||
        die "shard of master $mhost: its replicas did not all follow $thost within ${WAIT}s; the shards before it were moved"
    log "shard of master $mhost: $thost is its master now (after about $((took + waited))s), every other copy follows it"
done || exit 1

settle_claims "$ref" "$WAIT"
log "every shard's master is on its lowest-ordinal pod: the roll (highest ordinal first) restarts each replica before its master"
