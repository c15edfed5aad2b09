#!/bin/sh
# Self-repair of a Redis Cluster pod that came back with an empty volume
# (lost PVC, replaced node): started in the background by cluster-start.sh
# just before it execs redis-server; ends on its own, every wait bounded.
#
# Without it such a pod never rejoins: the bootstrap Job only runs when the
# topology changes, the pod stays NotReady holding the PDB's one disruption,
# and the cluster keeps a ghost: the node ID this pod had before, with its
# hostname, flagged fail.
#
# Steps, each logged, each safe to run again:
#  1. Wait for the local redis. Do nothing unless this node is alone (knows
#     no other node, holds no slot) or a repair is pending (marker file).
#  2. Find a peer in the cluster: pods <statefulset>-0, -1, ... by their
#     stable names (stop after 3 names in a row that do not resolve).
#  3. Find the ghost: a node in the peer's view announcing this pod's
#     hostname with another ID. None: nothing to repair (a brand-new pod
#     joins through the bootstrap Job, which decides its role).
#     A ghost that still owns slots (no replica took them over) is left to a
#     person: its data is gone with the volume, and giving its slots to an
#     empty node is a decision about losing data.
#  4. CLUSTER FORGET the ghost on every node (all within Redis's 60 s ban,
#     or gossip brings it back), CLUSTER MEET the peer, wait until both
#     sides know each other.
#  5. CLUSTER REPLICATE the master with fewest replicas (the shard whose
#     master this pod was has its promoted replica as master and no replica
#     left), wait until the link is up. With a zone map, among the masters
#     with fewest replicas one whose shard then spans more than one zone.
#  6. With a zone map: fix_pairing (cluster-lib.sh, as the bootstrap Job
#     runs it): a shard left with every copy in one zone gets a replica of
#     another zone by a swap, when one can fix it.
#
# Environment (as cluster-start.sh): REDIS_USER and REDISCLI_AUTH (the admin
# user and its password, read by redis-cli), POD_NAME,
# HEADLESS_SERVICE, NAMESPACE, CLUSTER_DOMAIN, POD_IP, DATA_DIR; optional
# REDIS_PORT (6379), REPAIR_TIMEOUT_SECONDS (each wait, 300), REDIS_PID,
# REDIS_HOST (where the local redis listens, default POD_IP),
# NODE_ZONES_FILE (the zone map "<pod host name>=<zone>" a line, from the
# ConfigMap <deployment>-zones that the bootstrap Job's cluster-zones.sh
# writes; absent or empty: steps 5 and 6 ignore zones, as without the map).
# shellcheck disable=SC2086
set -u
set -f

log() { printf '%s cluster-repair: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
# TLS (REDIS_TLS=yes): every redis-cli call adds these options; empty without TLS.
TLS_ARGS=""
if [ "${REDIS_TLS:-}" = yes ]; then TLS_ARGS="--tls --cacert ${REDIS_CA_FILE:-/tls/ca.crt}"; fi

PORT="${REDIS_PORT:-6379}"
TIMEOUT="${REPAIR_TIMEOUT_SECONDS:-300}"
DATA_DIR="${DATA_DIR:-/data}"
CLUSTER_DOMAIN="${CLUSTER_DOMAIN:-cluster.local}"
LOCAL="${REDIS_HOST:-${POD_IP:-127.0.0.1}}"
ME="$POD_NAME.$HEADLESS_SERVICE.$NAMESPACE.svc.$CLUSTER_DOMAIN"
STS="${POD_NAME%-*}"
MARKER="$DATA_DIR/.repair-pending"
# Who redis-cli logs in as (REDISCLI_AUTH holds that user's password).
CLI_USER="${REDIS_USER:+--user $REDIS_USER}"

cli() { _h="$1"; shift; timeout 10 redis-cli $CLI_USER $TLS_ARGS -h "$_h" -p "$PORT" "$@" 2>/dev/null | tr -d '\r'; }
info() { cli "$1" cluster info | awk -F: -v k="$2" '$1 == k { print $2 }'; }
deadline=0
start_clock() { deadline=$(($(date +%s) + TIMEOUT)); }
# Every wait also ends when redis does (REDIS_PID: the start script's PID,
# which exec makes redis-server's): a repair never outlives its pod's redis.
expired() {
    if [ -n "${REDIS_PID:-}" ] && ! kill -0 "$REDIS_PID" 2>/dev/null; then
        log "redis (pid $REDIS_PID) is gone; stopping the repair"
        exit 0
    fi
    [ "$(date +%s)" -ge "$deadline" ]
}
give_up() { log "giving up: $*"; exit 1; }
die() { give_up "$*"; }
# live_nodes, ids_and_hosts, zones, fix_pairing: shared with the bootstrap Job.
. "$(dirname "$0")/cluster-lib.sh"

[ -n "${REDISCLI_AUTH:-}" ] || give_up "REDISCLI_AUTH is empty: no password for the admin user ${REDIS_USER:-}"
start_clock
until [ "$(cli "$LOCAL" ping)" = "PONG" ]; do
    expired && give_up "the local redis did not answer PING within ${TIMEOUT}s"
    sleep 1
done
my_id="$(cli "$LOCAL" cluster myid)"
known="$(info "$LOCAL" cluster_known_nodes)"
slots="$(info "$LOCAL" cluster_slots_assigned)"
if [ ! -f "$MARKER" ] && { [ "${known:-0}" -gt 1 ] || [ "${slots:-0}" -gt 0 ]; }; then
    log "this node ($my_id) is in a cluster already: nothing to repair"
    exit 0
fi

# A peer that is in a cluster: "address" of the first that answers.
find_peer() {
    _i=0 _misses=0
    while [ "$_i" -lt 1000 ] && [ "$_misses" -lt 3 ]; do
        _h="$STS-$_i.$HEADLESS_SERVICE.$NAMESPACE.svc.$CLUSTER_DOMAIN"
        _i=$((_i + 1))
        [ "$_h" != "$ME" ] || continue
        if ! getent hosts "$_h" >/dev/null 2>&1; then
            _misses=$((_misses + 1))
            continue
        fi
        _misses=0
        if [ "$(info "$_h" cluster_known_nodes)" -gt 1 ] 2>/dev/null; then
            echo "$_h"
            return 0
        fi
    done
}

start_clock
peer=""
while [ -z "$peer" ]; do
    peer="$(find_peer)"
    [ -n "$peer" ] && break
    if expired; then
        log "no peer in a cluster answered within ${TIMEOUT}s: nothing to repair (a new cluster is formed by the bootstrap Job)"
        exit 0
    fi
    sleep 2
done

# CLUSTER NODES: id addr@bus,hostname flags master ping pong epoch link slots...
view="$(cli "$peer" cluster nodes)"
ghost="$(printf '%s\n' "$view" | awk -v me="$ME" -v id="$my_id" '{ n = split($2, a, ","); if (n >= 2 && a[2] == me && $1 != id) print $1 }')"
if [ -z "$ghost" ] && [ ! -f "$MARKER" ]; then
    log "the cluster (seen from $peer) holds no other node with this pod's hostname: nothing to repair; the bootstrap Job adds new pods"
    exit 0
fi
for g in $ghost; do
    line="$(printf '%s\n' "$view" | awk -v id="$g" '$1 == id')"
    owned="$(printf '%s\n' "$line" | cut -d' ' -f9-)"
    if [ -n "$owned" ]; then
        give_up "this pod's previous identity $g still owns slots ($owned) and no replica took them over; its data went with the volume. Decide by hand (redis-cli --cluster fix)"
    fi
done

: >"$MARKER"
log "this node ($my_id) came back empty; previous identity in the cluster: ${ghost:-already forgotten}; repairing through $peer"
for g in $ghost; do
    for n in $(printf '%s\n' "$view" | awk -v g="$g" '$1 != g && $3 !~ /(^|,)(fail|handshake|noaddr)(,|$)/ { split($2, a, ","); split(a[1], b, "@"); print b[1] }'); do
        h="${n%:*}"
        r="$(cli "$h" cluster forget "$g")"
        log "CLUSTER FORGET $g on $h: ${r:-no answer}"
    done
done

peer_ip="$(getent hosts "$peer" | awk '{ print $1; exit }')"
log "CLUSTER MEET $peer ($peer_ip:$PORT)"
[ "$(cli "$LOCAL" cluster meet "$peer_ip" "$PORT")" = "OK" ] || give_up "CLUSTER MEET refused"
start_clock
until cli "$peer" cluster nodes | awk -v id="$my_id" '$1 == id && $3 !~ /handshake|noaddr/ { f = 1 } END { exit !f }' &&
    [ "$(info "$LOCAL" cluster_known_nodes)" -gt 1 ] 2>/dev/null; do
    expired && give_up "$peer did not learn this node within ${TIMEOUT}s"
    sleep 1
done
log "$peer knows this node; waiting for the node table to reach this node"
start_clock
until [ "$(info "$LOCAL" cluster_known_nodes)" = "$(info "$peer" cluster_known_nodes)" ]; do
    expired && give_up "the node table did not reach this node within ${TIMEOUT}s"
    sleep 1
done

# Master IDs with slots, fewest replicas first, as the peer sees them: this
# node's own table can count every node while some are still in handshake,
# their roles unknown, so a shard's replica would go uncounted here.
master="$(cli "$peer" cluster nodes | awk -v me="$my_id" '
    $1 == me || $3 ~ /fail|handshake|noaddr/ { next }
    $3 ~ /(^|,)master(,|$)/ && NF >= 9 { m[$1] = 1 }
    $3 ~ /(^|,)slave(,|$)/ { r[$4]++ }
    END { for (id in m) print r[id] + 0, id }' | sort -n | awk 'NR == 1 { print $2 }')"
[ -n "$master" ] || give_up "no master with slots in the cluster"
why="the master with fewest replicas"
load_node_zones
my_zone="$(zone_of "$ME")"
if [ -n "$my_zone" ]; then
    # Among the masters with fewest replicas, one whose shard this node
    # (zone $my_zone) takes out of a single zone.
    ranked="$(cli "$peer" cluster nodes | awk -v me="$my_id" '
        $1 == me || $3 ~ /fail|handshake|noaddr/ { next }
        $3 ~ /(^|,)master(,|$)/ && NF >= 9 { m[$1] = 1 }
        $3 ~ /(^|,)slave(,|$)/ { r[$4]++ }
        END { for (id in m) print r[id] + 0, id }' | sort -n)"
    fewest="$(printf '%s\n' "$ranked" | awk 'NR == 1 { print $1 }')"
    spread=""
    for cand in $(printf '%s\n' "$ranked" | awk -v f="$fewest" '$1 == f { print $2 }'); do
        if spans_zones_with "$peer" "$cand" "$my_zone"; then
            spread="$cand"
            break
        fi
    done
    if [ -n "$spread" ]; then
        master="$spread"
        why="the master with fewest replicas whose shard then spans more than one zone (this pod: $my_zone)"
    else
        log "zone map: no master with fewest replicas has a copy outside zone $my_zone; the pairing is put right below"
    fi
elif [ -n "$NODE_ZONES" ]; then
    log "zone map: $ME is not in it (a pod added since the last bootstrap run); pairing by replica count only"
fi
log "CLUSTER REPLICATE $master ($why)"
start_clock
until [ "$(cli "$LOCAL" cluster replicate "$master")" = "OK" ]; do
    # The replicate is refused until this node knows the master.
    expired && give_up "CLUSTER REPLICATE $master refused for ${TIMEOUT}s"
    sleep 1
done
until cli "$LOCAL" info replication | grep -qx "master_link_status:up"; do
    expired && give_up "no replication link to $master within ${TIMEOUT}s"
    sleep 1
done
# Repaired once the cluster says so too, not only this node: the peer lists
# it as a replica of $master (the pairing below reads the peer's table).
until roles_seen_by "$peer" | awk -v id="$my_id" -v m="$master" '$1 == id && $2 == "slave" && $3 == m { f = 1 } END { exit !f }'; do
    expired && give_up "$peer does not list this node as a replica of $master after ${TIMEOUT}s"
    sleep 1
done
rm -f "$MARKER"
log "repaired: this node is a replica of $master, in sync, and $peer lists it so"

# After a swap: every live node ok and seeing the same roles as $1, and the
# moved replicas' links up (bounded; a swap is two CLUSTER REPLICATE).
settle() {
    _ref="$1"
    shift
    log "pairing: waiting for every node to agree on the new roles"
    start_clock
    until members_agree "$_ref"; do
        expired && give_up "the nodes did not agree on the roles within ${TIMEOUT}s after a swap"
        sleep 1
    done
    for _moved in "$@"; do
        until cli "$_moved" info replication | grep -qx "master_link_status:up"; do
            expired && give_up "$_moved has no replication link within ${TIMEOUT}s after a swap"
            sleep 1
        done
        log "pairing: $_moved is in sync with its new master"
    done
}
# Nodes flagged fail or fail? (another lost pod, say) are not asked.
members_agree() {
    _want="$(roles_seen_by "$1")"
    [ -n "$_want" ] || return 1
    for _mh in $(live_nodes "$1" | awk '$3 !~ /fail/' | ids_and_hosts | awk '{ print $2 }'); do
        [ "$(info "$_mh" cluster_state)" = "ok" ] || return 1
        [ "$(roles_seen_by "$_mh")" = "$_want" ] || return 1
    done
}
if [ -n "$NODE_ZONES" ]; then
    settle "$peer"
    fix_pairing "$peer"
fi
