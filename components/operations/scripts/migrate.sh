#!/bin/sh
# Node-group migration of a Redis Cluster deployment, one step per run
# (migration Job, redis image): sh /scripts/migrate.sh
# The steps follow the seed's runbook; each is idempotent and checks the
# cluster is healthy before it changes anything:
#   replicas  every pod of the new StatefulSet (on the new nodes) joins as a
#             replica, spread over the masters (round robin by slot order),
#             and each waits until it is in sync;
#   promote   on each shard whose master is an old pod, a new replica in sync
#             takes over with CLUSTER FAILOVER (graceful: no acknowledged
#             write is lost);
#   retire    when every master is a new pod, the old pods (replicas by
#             now) are removed from the cluster (redis-cli --cluster del-node);
#             the next `pulumi up` deletes their StatefulSet.
#
# Environment:
#   STEP           replicas | promote | retire                       (required)
#   OLD_NODES      space-separated hosts of the old StatefulSet's pods (required)
#   NEW_NODES      space-separated hosts of the new StatefulSet's pods (required)
#   REDISCLI_AUTH  the password                                       (required)
#   REDIS_PORT (6379), WAIT_TIMEOUT (seconds per wait, 600)
set -eu
SCRIPT_NAME=migrate
. "$(dirname "$0")/ops-lib.sh"

require_env STEP OLD_NODES NEW_NODES REDISCLI_AUTH
WAIT_TIMEOUT="${WAIT_TIMEOUT:-600}"

myid() { cli "$1" -- cluster myid; }


# The cluster as the old and new members see it: ok, nobody failing.
cluster_ok() {
    for _n in $OLD_NODES $NEW_NODES; do
        _known=$(cli "$_n" -- cluster info | awk -F: '$1 == "cluster_known_nodes" { print $2 }')
        [ "${_known:-1}" -gt 1 ] || continue
        [ "$(cli "$_n" -- cluster info | awk -F: '$1 == "cluster_state" { print $2 }')" = "ok" ] || return 1
        cli "$_n" -- cluster nodes | grep -q fail && return 1
    done
    return 0
}

# CLUSTER NODES from a member of the cluster: a new pod not yet joined, or
# an old one already retired (reset), only knows itself.
nodes_now() {
    for _n in $NEW_NODES $OLD_NODES; do
        _known=$(cli "$_n" -- cluster info | awk -F: '$1 == "cluster_known_nodes" { print $2 }')
        if [ "${_known:-1}" -gt 1 ]; then
            cli "$_n" -- cluster nodes
            return 0
        fi
    done
    die "no pod answered as a member of the cluster"
}
in_sync() { [ "$(info_field "$1" replication master_link_status)" = "up" ]; }
is_master() { [ "$(info_field "$1" replication role)" = "master" ]; }
pong() { [ "$(cli "$1" -- ping)" = "PONG" ]; }

until_true "a healthy cluster" cluster_ok
case "$STEP" in
    replicas)
        for n in $NEW_NODES; do until_true "PONG from $n" pong "$n"; done
        masters=$(nodes_now | masters_by_slot | awk '{ print $2 }')
        set -- $masters
        count=$#
        seed=$(nodes_now | masters_by_slot | awk 'NR == 1 { print $3 ":" $4 }')
        j=0
        for n in $NEW_NODES; do
            known=$(cli "$n" -- cluster info | awk -F: '$1 == "cluster_known_nodes" { print $2 }')
            if [ "${known:-1}" -gt 1 ]; then
                log "$n is already in the cluster"
            else
                [ "$(cli "$n" -- dbsize)" = "0" ] || die "$n is in no cluster but holds keys; empty it by hand"
                shift_by=$((j % count + 1))
                master=$(printf '%s\n' $masters | sed -n "${shift_by}p")
                log "adding $n as a replica of $master"
                redis-cli $CLI_USER $TLS_ARGS --no-auth-warning --cluster add-node "$n:$REDIS_PORT" "$seed" --cluster-slave --cluster-master-id "$master" \
                    >&2 || die "add-node $n failed"
            fi
            j=$((j + 1))
        done
        for n in $NEW_NODES; do until_true "$n in sync with its master" in_sync "$n"; log "$n is a replica in sync"; done
        ;;
    promote)
        nodes=$(nodes_now)
        printf '%s\n' "$nodes" | masters_by_slot | while read -r _first id host _port _ranges; do
            if is_new "$host"; then
                log "shard at slot $_first: master $host is already a new pod"
                continue
            fi
            candidate=$(printf '%s\n' "$nodes" | replicas_list | while read -r _rid rhost _rport rmaster; do
                if [ "$rmaster" = "$id" ] && is_new "$rhost" && in_sync "$rhost"; then echo "$rhost"; break; fi
            done) || true
            [ -n "$candidate" ] || die "shard at slot $_first (master $host) has no new replica in sync; run STEP=replicas first"
            log "shard at slot $_first: promoting $candidate in place of $host (CLUSTER FAILOVER)"
            [ "$(cli "$candidate" -- cluster failover)" = "OK" ] || die "CLUSTER FAILOVER refused by $candidate"
            until_true "$candidate becoming master" is_master "$candidate"
            log "$candidate is master"
        done
        until_true "a healthy cluster after the promotions" cluster_ok
        ;;
    retire)
        nodes=$(nodes_now)
        old_masters=$(printf '%s\n' "$nodes" | masters_by_slot | while read -r _f _id host _rest; do if is_old "$host"; then echo "$host"; fi; done) || true
        [ -z "$old_masters" ] || die "old pods are still masters ($old_masters); run STEP=promote first"
        seed=$(printf '%s\n' "$nodes" | masters_by_slot | awk 'NR == 1 { print $3 ":" $4 }')
        for n in $OLD_NODES; do
            # Any role: an old master without slots is retired as well.
            id=$(printf '%s\n' "$nodes" | awk -v h="$n" '{ split($2, a, ","); if (a[2] == h) print $1 }')
            if [ -z "$id" ]; then
                log "$n is not in the cluster any more"
                continue
            fi
            log "removing $n ($id) from the cluster"
            redis-cli $CLI_USER $TLS_ARGS --no-auth-warning --cluster del-node "$seed" "$id" >&2 || die "del-node $n failed"
        done
        until_true "a healthy cluster without the old pods" cluster_ok
        ;;
    *) die "STEP must be replicas, promote or retire, got '$STEP'" ;;
esac
log "step $STEP done"
nodes_now | masters_by_slot | awk '{ printf "master %s owns slots", $3; for (i = 5; i <= NF; i++) printf " %s", $i; print "" }' >&2
