#!/bin/sh
# preStop hook of a Redis Cluster pod: sh /scripts/cluster-prestop.sh [timeout_seconds]
#
# A master that just stops leaves its slots without a master until the
# cluster notices (cluster-node-timeout) and elects its replica: several
# seconds of refused writes per pod in every rolling update. Instead, this
# asks one of its connected replicas for a CLUSTER FAILOVER (the graceful
# kind: the master stops taking writes, the replica catches up to its
# offset, then takes over, so no acknowledged write is lost) and waits,
# bounded by timeout_seconds (default 30; keep it below the pod's grace
# period), until this node is a replica. A replica, or a master without a
# healthy replica, has nothing to hand over and exits at once.
#
# Environment: REDISCLI_AUTH (the password, read by redis-cli),
# LOCAL_REDIS_HOST (127.0.0.1), REDIS_PORT (6379).
set -u

TIMEOUT="${1:-30}"
LOCAL="${LOCAL_REDIS_HOST:-127.0.0.1}"
PORT="${REDIS_PORT:-6379}"

log() { printf '%s cluster-prestop: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
local_cli() { timeout 5 redis-cli -h "$LOCAL" -p "$PORT" "$@" 2>/dev/null | tr -d '\r'; }

role="$(local_cli role | head -n 1)"
if [ "$role" != "master" ]; then
    log "this node is ${role:-unreachable}, not a master: nothing to hand over"
    exit 0
fi
my_id="$(local_cli cluster myid)"
# CLUSTER NODES: id addr flags master ping pong epoch link-state slots...
replica="$(local_cli cluster nodes | awk -v id="$my_id" \
    '$4 == id && $8 == "connected" && $3 !~ /fail|handshake|noaddr/ { print $2; exit }')"
if [ -z "$replica" ]; then
    log "master without a connected replica: its slots stay here until it is back"
    exit 0
fi
hostport="${replica%%@*}"
host="${hostport%:*}"
rport="${hostport##*:}"
log "master $my_id hands its slots to replica $host:$rport (CLUSTER FAILOVER)"
answer="$(timeout 5 redis-cli -h "$host" -p "$rport" cluster failover 2>&1 | tr -d '\r')"
if [ "$answer" != "OK" ]; then
    log "the replica refused the failover ($answer); stopping as master"
    exit 0
fi
elapsed=0
while [ "$elapsed" -lt "$TIMEOUT" ]; do
    if [ "$(local_cli role | head -n 1)" = "slave" ]; then
        log "handover done after about ${elapsed}s: this node is now a replica"
        exit 0
    fi
    sleep 1
    elapsed=$((elapsed + 1))
done
log "the replica did not take over within ${TIMEOUT}s; stopping anyway (the cluster will fail over on its own)"
exit 0
