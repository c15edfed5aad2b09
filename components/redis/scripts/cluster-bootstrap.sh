#!/bin/sh
# Creates or grows the Redis Cluster; run by a Kubernetes Job:
#   sh /scripts/cluster-bootstrap.sh
# The Job's name carries a hash of the topology (see cluster_scripts.py), so a
# change of SHARDS or REPLICAS_PER_SHARD makes a new Job that runs this again.
# Running it on a cluster that already matches changes nothing.
#
# It never flushes, resets or re-creates a node that holds data or belongs to
# a cluster: in those cases it stops, says why, and leaves it to a person.
# One exception, of its own making: a drained master that stays, holding no
# slots and at most a copy of a shard its master still serves, rejoins
# afresh (rejoin_fresh, in a scale-in).
# Fewer shards: see shrink_cluster (drain, then remove the leaving nodes).
# Fewer replicas per shard is not automatic.
#
# Environment:
#   SHARDS, REPLICAS_PER_SHARD   required; wanted topology
#   REDIS_USER                   the ACL user to log in as (the deployment's admin user)
#   REDISCLI_AUTH                required; its password (read by redis-cli)
#   CLUSTER_NODES                space-separated host names, ordinal order; or, when
#                                empty, built from STATEFULSET_NAME, HEADLESS_SERVICE,
#                                NAMESPACE, CLUSTER_DOMAIN (default cluster.local):
#                                <sts>-<i>.<svc>.<ns>.svc.<domain>, i < SHARDS*(1+REPLICAS_PER_SHARD)
#   REDIS_PORT                   default 6379
#   WAIT_TIMEOUT_SECONDS         bound on each wait (nodes up, cluster agreement), default 300
#   NODE_ZONES                   optional "hostname=zone ..." (or host names): when set, no
#                                shard is left with its master and every replica in one zone
#                                if another zone holds a replica that can swap (fix_pairing,
#                                cluster-lib.sh, shared with cluster-repair.sh)
#   NODE_ZONES_FILE              optional file with the same lines, one per pod (written by
#                                cluster-zones.sh in the Job's init container); read when
#                                NODE_ZONES is empty
# Lists of host names are split on spaces on purpose; set -f keeps a name
# from ever being taken as a file pattern.
# shellcheck disable=SC2086,SC2116
set -eu
set -f

log() { printf '%s cluster-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
# TLS (REDIS_TLS=yes): every redis-cli call adds these options; empty without TLS.
TLS_ARGS=""
if [ "${REDIS_TLS:-}" = yes ]; then TLS_ARGS="--tls --cacert ${REDIS_CA_FILE:-/tls/ca.crt}"; fi
die() { log "STOPPED: $*"; exit 1; }

PORT="${REDIS_PORT:-6379}"
WAIT_TIMEOUT_SECONDS="${WAIT_TIMEOUT_SECONDS:-300}"
CLUSTER_DOMAIN="${CLUSTER_DOMAIN:-cluster.local}"
[ -n "${REDISCLI_AUTH:-}" ] || die "REDISCLI_AUTH is empty"
export REDISCLI_AUTH
# live_nodes, roles_seen_by, ids_and_hosts, host_of_id, zones, fix_pairing.
. "$(dirname "$0")/cluster-lib.sh"
load_node_zones
# Every redis-cli call logs in as REDIS_USER; --cluster passes the same user
# on to MIGRATE (AUTH2) when it moves keys between nodes.
CLI_USER="${REDIS_USER:+--user $REDIS_USER}"
# redis-cli colours its --cluster output on colour terminals; Job logs are plain.
export TERM=dumb
case "${SHARDS:-}" in '' | *[!0-9]*) die "SHARDS must be a number, got '${SHARDS:-}'" ;; esac
case "${REPLICAS_PER_SHARD:-}" in '' | *[!0-9]*) die "REPLICAS_PER_SHARD must be a number, got '${REPLICAS_PER_SHARD:-}'" ;; esac
[ "$SHARDS" -ge 3 ] || die "Redis Cluster needs at least 3 shards, got $SHARDS"
WANTED=$((SHARDS * (1 + REPLICAS_PER_SHARD)))

if [ -z "${CLUSTER_NODES:-}" ]; then
    for v in STATEFULSET_NAME HEADLESS_SERVICE NAMESPACE; do
        eval "[ -n \"\${$v:-}\" ]" || die "set CLUSTER_NODES or $v"
    done
    i=0
    CLUSTER_NODES=""
    while [ "$i" -lt "$WANTED" ]; do
        CLUSTER_NODES="$CLUSTER_NODES $STATEFULSET_NAME-$i.$HEADLESS_SERVICE.$NAMESPACE.svc.$CLUSTER_DOMAIN"
        i=$((i + 1))
    done
fi
set -- $CLUSTER_NODES
[ "$#" -ge "$WANTED" ] || die "$SHARDS shards x (1 + $REPLICAS_PER_SHARD) need $WANTED nodes, CLUSTER_NODES names $#"
NODES="$*"

DEADLINE=0
start_clock() { DEADLINE=$(($(date +%s) + WAIT_TIMEOUT_SECONDS)); }
expired() { [ "$(date +%s)" -ge "$DEADLINE" ]; }

# Short queries are bounded so a node that black-holes packets cannot hang the Job.
cli() { h="$1"; shift; timeout 10 redis-cli $CLI_USER $TLS_ARGS -h "$h" -p "$PORT" "$@" 2>/dev/null | tr -d '\r'; }
info() { cli "$1" cluster info | awk -F: -v k="$2" '$1 == k { print $2 }'; }

wait_for_ping() {
    log "waiting up to ${WAIT_TIMEOUT_SECONDS}s for every node to answer PING"
    start_clock
    for n in $NODES; do
        until [ "$(cli "$n" ping)" = "PONG" ]; do
            expired && die "$n:$PORT did not answer PING within ${WAIT_TIMEOUT_SECONDS}s"
            sleep 2
        done
        log "$n answers PING"
    done
}

# True when every member among NODES is ok and sees the same roles as $1.
# A node that just joined stays in cluster_state fail for a moment and
# refuses migrated keys with CLUSTERDOWN, so each member's own state counts.
views_agree() {
    want="$(roles_seen_by "$1")"
    [ -n "$want" ] || return 1
    for n in $NODES; do
        id="$(cli "$n" cluster myid)"
        printf '%s\n' "$want" | grep -q "^$id " || continue
        [ "$(info "$n" cluster_state)" = "ok" ] || return 1
        [ "$(roles_seen_by "$n")" = "$want" ] || return 1
    done
}

# Waits until the cluster seen from $1 is ok, all nodes agree on slots and roles.
wait_cluster_agrees() {
    log "waiting for every node to agree on slots and roles (via $1)"
    start_clock
    until [ "$(info "$1" cluster_state)" = "ok" ] &&
        timeout 30 redis-cli $CLI_USER $TLS_ARGS --cluster check "$1:$PORT" >/dev/null 2>&1 && views_agree "$1"; do
        expired && die "the cluster seen from $1 is not healthy after ${WAIT_TIMEOUT_SECONDS}s; changing nothing"
        sleep 1
    done
    log "cluster is ok and all nodes agree"
}

in_cluster() { [ "$(info "$1" cluster_known_nodes)" -gt 1 ] || [ "$(info "$1" cluster_slots_assigned)" -gt 0 ]; }
keys_of() { cli "$1" dbsize; }

create_cluster() {
    for n in $NODES; do
        k="$(keys_of "$n")"
        [ "$k" = "0" ] || die "refusing to create the cluster: $n is in no cluster but holds ${k:-unknown} keys, and this script never flushes data. Empty or remove it by hand."
    done
    args=""
    for n in $NODES; do args="$args $n:$PORT"; done
    log "no cluster yet: creating $SHARDS shards with $REPLICAS_PER_SHARD replica(s) each from:$args"
    redis-cli $CLI_USER $TLS_ARGS --cluster create $args --cluster-replicas "$REPLICAS_PER_SHARD" --cluster-yes || die "cluster create failed"
    set -- $NODES
    ref="$1"
    wait_cluster_agrees "$ref"
}

# Master IDs as $1 sees them, fewest replicas first, leaving out the IDs in $2.
masters_by_replicas() {
    live_nodes "$1" | awk -v skip="${2:-}" '
        BEGIN { n = split(skip, s, " "); for (i = 1; i <= n; i++) out[s[i]] = 1 }
        $3 ~ /(^|,)master(,|$)/ && !($1 in out) { m[$1] = 1 }
        $3 ~ /(^|,)slave(,|$)/ && $4 != "-" { r[$4]++ }
        END { for (id in m) print r[id] + 0, id }' | sort -n | awk '{ print $2 }'
}

# Nodes take roles in ordinal order: the first ones without a shard become
# masters, the rest replicas. A member that is a master without slots was left
# by an interrupted run; it is treated like a new node. Replicas are attached
# before the rebalance, which would otherwise hand slots to every empty master.
grow_cluster() {
    ref="$1"
    wait_cluster_agrees "$ref"
    view="$(live_nodes "$ref")"
    slotted="$(printf '%s\n' "$view" | awk '$3 ~ /(^|,)master(,|$)/ && NF >= 9' | wc -l)"
    need=$((SHARDS - slotted))
    if [ "$need" -lt 0 ]; then
        shrink_cluster "$ref"
        return 0
    fi
    rebalance="" add_replicas="" demote="" demote_ids=""
    for n in $NODES; do
        id="$(cli "$n" cluster myid)"
        line="$(printf '%s\n' "$view" | awk -v id="$id" '$1 == id')"
        if [ -n "$line" ]; then
            printf '%s\n' "$line" | awk '$3 ~ /(^|,)master(,|$)/ && NF < 9 { f = 1 } END { exit !f }' || continue
            kind=member
        else
            in_cluster "$n" && die "refusing to add $n ($id): it holds slots or knows other nodes, but is not in the cluster $ref belongs to (data or another cluster); resolve it by hand"
            kind=new
        fi
        k="$(keys_of "$n")"
        [ "$k" = "0" ] || die "refusing to use $n: it holds no slots of the cluster but holds ${k:-unknown} keys, and this script never flushes data. Empty it by hand to let it join."
        if [ "$need" -gt 0 ]; then
            need=$((need - 1))
            rebalance=yes
            if [ "$kind" = new ]; then
                log "adding $n as a new master"
                redis-cli $CLI_USER $TLS_ARGS --cluster add-node "$n:$PORT" "$ref:$PORT" || die "adding $n as a master failed"
                wait_joined "$ref" "$n" master
            else
                log "$n is already a master without slots; it keeps that role and gets slots below"
            fi
        elif [ "$kind" = new ]; then
            add_replicas="$add_replicas $n"
        else
            demote="$demote $n"
            demote_ids="$demote_ids $id"
        fi
    done
    for n in $demote; do
        master="$(masters_by_replicas "$ref" "$demote_ids" | head -n 1)"
        log "making $n (an empty master) a replica of $master, the master with fewest replicas"
        [ "$(cli "$n" cluster replicate "$master")" = "OK" ] || die "CLUSTER REPLICATE on $n failed"
        wait_joined "$ref" "$n" slave
    done
    for n in $add_replicas; do
        master="$(masters_by_replicas "$ref" "$demote_ids" | head -n 1)"
        log "adding $n as a replica of $master, the master with fewest replicas"
        redis-cli $CLI_USER $TLS_ARGS --cluster add-node "$n:$PORT" "$ref:$PORT" --cluster-slave --cluster-master-id "$master" ||
            die "adding $n as a replica failed"
        wait_joined "$ref" "$n" slave
    done
    if [ -n "$rebalance" ]; then
        log "moving slots to the masters without slots (rebalance)"
        redis-cli $CLI_USER $TLS_ARGS --cluster rebalance "$ref:$PORT" --cluster-use-empty-masters || die "rebalance failed; check for open slots with redis-cli --cluster check"
        wait_cluster_agrees "$ref"
    fi
    [ -n "$rebalance$demote$add_replicas" ] || log "nothing to change: every node is already in the cluster with its role"
}

is_wanted() { case " $NODES " in *" $1 "*) return 0 ;; esac; return 1; }

# Fewer shards than the cluster has: keep the SHARDS shards with most copies
# on pods that stay (ordinals below SHARDS*(1+REPLICAS_PER_SHARD); the
# StatefulSet removes the others), move every master role of a kept shard
# onto a pod that stays (graceful CLUSTER FAILOVER), move the other shards'
# slots with their keys to the kept masters (rebalance with weight 0: slot
# by slot, every slot served throughout), then attach the staying pods that
# lost their shard as replicas and remove the leaving pods from the cluster.
# Refused, changing nothing, when the kept shards' memory cannot hold the data.
shrink_cluster() {
    ref="$1"
    view="$(live_nodes "$ref")"
    hosts="$(printf '%s\n' "$view" | ids_and_hosts)"
    stays() { _h="$(printf '%s\n' "$hosts" | awk -v id="$1" '$1 == id { print $2 }')"; is_wanted "$_h"; }
    host_of() { printf '%s\n' "$hosts" | awk -v id="$1" '$1 == id { print $2 }'; }
    shards_now="$(printf '%s\n' "$view" | awk '$3 ~ /(^|,)master(,|$)/ && NF >= 9' | wc -l)"

    used=0
    for m in $(printf '%s\n' "$view" | awk '$3 ~ /(^|,)master(,|$)/ && NF >= 9 { print $1 }'); do
        u="$(cli "$(host_of "$m")" info memory | awk -F: '$1 == "used_memory_dataset" { print $2 }')"
        used=$((used + ${u:-0}))
    done
    set -- $NODES
    maxmem="$(cli "$1" config get maxmemory | sed -n 2p)"
    capacity=$((SHARDS * ${maxmem:-0} * 9 / 10))
    if [ "${maxmem:-0}" -gt 0 ] && [ "$used" -gt "$capacity" ]; then
        die "refusing to go from $shards_now to $SHARDS shards: the data takes $used bytes and $SHARDS shards hold $capacity (90% of maxmemory $maxmem each); nothing was moved"
    fi
    log "going from $shards_now to $SHARDS shards: $used bytes of data, room for $capacity"

    # "copies-on-staying-pods master-stays id" per shard, best first.
    ranked="$(for m in $(printf '%s\n' "$view" | awk '$3 ~ /(^|,)master(,|$)/ && NF >= 9 { print $1 }'); do
        c=0
        if stays "$m"; then c=1; ms=1; else ms=0; fi
        for r in $(printf '%s\n' "$view" | awk -v m="$m" '$4 == m { print $1 }'); do stays "$r" && c=$((c + 1)); done
        echo "$c $ms $m"
    done | sort -k1,1nr -k2,2nr -k3,3)"
    keep="$(printf '%s\n' "$ranked" | head -n "$SHARDS" | awk '{ print $3 }')"
    drain="$(printf '%s\n' "$ranked" | tail -n +"$((SHARDS + 1))" | awk '{ print $3 }')"

    for m in $keep; do
        stays "$m" && continue
        r="$(printf '%s\n' "$view" | awk -v m="$m" '$4 == m { print $1 }' | while read -r id; do if stays "$id"; then echo "$id"; fi; done | head -n 1)"
        [ -n "$r" ] || die "shard $m has no copy on a pod that stays; nothing more was changed"
        log "shard $m: its master leaves; handing it to $(host_of "$r") (CLUSTER FAILOVER)"
        [ "$(cli "$(host_of "$r")" cluster failover)" = "OK" ] || die "CLUSTER FAILOVER refused by $(host_of "$r")"
        wait_joined "$ref" "$(host_of "$r")" master
    done

    weights=""
    for m in $drain; do weights="$weights $m=0"; done
    log "moving the slots of shard(s)$(printf ' %s' $drain) to the $SHARDS kept shards (rebalance, keys move with their slots)"
    redis-cli $CLI_USER $TLS_ARGS --cluster rebalance "$ref:$PORT" --cluster-weight $weights --cluster-pipeline 100 ||
        die "rebalance failed; check for open slots with redis-cli --cluster check"
    wait_cluster_agrees "$ref"
    for id in $drain; do
        stays "$id" || continue
        rejoin_fresh "$(host_of "$id")" "$(masters_by_replicas "$ref" "$drain" | head -n 1)"
    done

    view="$(live_nodes "$ref")"
    for id in $(printf '%s\n' "$view" | awk '{ print $1 }'); do
        stays "$id" || continue
        line="$(printf '%s\n' "$view" | awk -v id="$id" '$1 == id')"
        # A staying pod is fine as a master with slots or a replica of one.
        printf '%s\n' "$line" | awk '$3 ~ /(^|,)master(,|$)/ && NF >= 9 { f = 1 } END { exit !f }' && continue
        its_master="$(printf '%s\n' "$line" | awk '{ print $4 }')"
        printf '%s\n' "$keep" | grep -qx "$its_master" && continue
        target="$(masters_by_replicas "$ref" "$drain" | head -n 1)"
        log "$(host_of "$id") stays but its shard was drained: replica of $target (the kept master with fewest replicas)"
        [ "$(cli "$(host_of "$id")" cluster replicate "$target")" = "OK" ] || die "CLUSTER REPLICATE on $(host_of "$id") failed"
        wait_joined "$ref" "$(host_of "$id")" slave
    done
    # Replicas first: a leaving master is empty by now, and its own replicas go too.
    for id in $(printf '%s\n' "$view" | awk '$3 ~ /(^|,)slave(,|$)/ { print $1 }') \
        $(printf '%s\n' "$view" | awk '$3 ~ /(^|,)master(,|$)/ { print $1 }'); do
        stays "$id" && continue
        log "removing $(host_of "$id") ($id) from the cluster; the StatefulSet removes the pod"
        redis-cli $CLI_USER $TLS_ARGS --cluster del-node "$ref:$PORT" "$id" || die "del-node $id failed"
    done
    wait_cluster_agrees "$ref"
    even_replicas "$ref"
    log "now $SHARDS shards"
}

# A drained master that stays took each CLUSTER SETSLOT of the drain as a
# master. Redis 7.0.13-7.0.15 and 7.2.0-7.2.3 can keep from one of those a
# mark "this slot's owner no longer claims it" that nothing clears while the
# process runs (redis/redis#12564): promoted later (the pre-roll makes each
# shard's lowest-ordinal pod its master), such a node hands that slot back to
# its old master's next gossip, and no node serves it (seen here: slot 6826
# after a 4 -> 3 drain). So it rejoins as a new member would, which forgets
# that state: CLUSTER RESET SOFT (same node ID; it holds no slots, and the copy
# of another shard it may hold goes: the full sync from its new master
# replaces it anyway), CLUSTER MEET, CLUSTER REPLICATE $2 (an ID).
rejoin_fresh() {
    cli "$1" cluster nodes | awk '$3 ~ /(^|,)myself,master(,|$)/ && NF >= 9 { f = 1 } END { exit f }' ||
        die "$1 still holds slots after the drain; nothing more was changed"
    log "$1 held a drained shard and stays: it rejoins as a new member would (CLUSTER RESET SOFT, MEET, REPLICATE $2), so nothing of the drain's slot bookkeeping stays in its memory"
    [ "$(cli "$1" cluster reset soft)" = OK ] || die "CLUSTER RESET SOFT refused by $1"
    rf_peer="$(host_of "$2")"
    rf_ip="$(getent hosts "$rf_peer" | awk '{ print $1; exit }')"
    [ "$(cli "$1" cluster meet "${rf_ip:-$rf_peer}" "$PORT")" = OK ] || die "CLUSTER MEET $rf_peer refused by $1"
    start_clock
    # Refused until the node has learnt the master's ID by gossip.
    until [ "$(cli "$1" cluster replicate "$2")" = OK ]; do
        expired && die "$1 did not accept CLUSTER REPLICATE $2 within ${WAIT_TIMEOUT_SECONDS}s"
        sleep 1
    done
    wait_joined "$ref" "$1" slave
}

# A leaving pod may have held a kept master's only replica: move one replica
# from the master with most replicas to each master left with none (Redis's
# own replica migration only serves masters that lost replicas they had).
even_replicas() {
    moves=0
    while :; do
        counts="$(live_nodes "$1" | awk '
            $3 ~ /(^|,)master(,|$)/ { m[$1] = 1 }
            $3 ~ /(^|,)slave(,|$)/ && $4 != "-" { r[$4]++; rep[$4] = $1 }
            END { for (id in m) print r[id] + 0, id, rep[id] }' | sort -n)"
        low="$(printf '%s\n' "$counts" | head -n 1)"
        high="$(printf '%s\n' "$counts" | tail -n 1)"
        [ "${low%% *}" -eq 0 ] && [ "${high%% *}" -ge 2 ] || return 0
        moves=$((moves + 1))
        [ "$moves" -le 10 ] || die "replicas still uneven after 10 moves"
        to="$(printf '%s\n' "$low" | awk '{ print $2 }')"
        from="$(host_of_id "$1" "$(printf '%s\n' "$high" | awk '{ print $3 }')")"
        log "master $to has no replica: $from moves to it from a master with ${high%% *}"
        [ "$(cli "$from" cluster replicate "$to")" = "OK" ] || die "CLUSTER REPLICATE on $from failed"
        wait_joined "$1" "$from" slave
    done
}

# Waits until $1 lists node $2 (past the handshake) with role $3, then for agreement.
wait_joined() {
    log "waiting for $2 to join as $3"
    start_clock
    id="$(cli "$2" cluster myid)"
    until roles_seen_by "$1" | awk -v id="$id" -v role="$3" '$1 == id && $2 == role && (role == "master" || $3 != "-") { ok = 1 } END { exit !ok }'; do
        expired && die "$2 did not join as $3 within ${WAIT_TIMEOUT_SECONDS}s"
        sleep 1
    done
    wait_cluster_agrees "$1"
}

# fix_pairing (cluster-lib.sh) waits after each swap until every node agrees.
settle() { wait_cluster_agrees "$1"; }

wait_for_ping
ref=""
for n in $NODES; do
    if in_cluster "$n"; then
        ref="$n"
        break
    fi
done
if [ -z "$ref" ]; then
    create_cluster
else
    log "a cluster exists ($ref is a member); checking it against $SHARDS shards x $REPLICAS_PER_SHARD replica(s)"
    grow_cluster "$ref"
fi
fix_pairing "$ref"
settle_claims "$ref" "$WAIT_TIMEOUT_SECONDS"
log "final state:"
redis-cli $CLI_USER $TLS_ARGS --cluster check "$ref:$PORT" || die "the final check failed"
log "done"
