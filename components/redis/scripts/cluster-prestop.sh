#!/bin/sh
# preStop hook of a Redis Cluster pod: sh /scripts/cluster-prestop.sh [timeout_seconds]
#
# A master that just stops leaves its slots without a master until the
# cluster notices (cluster-node-timeout) and elects its replica: several
# seconds of refused writes per pod in every rolling update. Instead, this
# asks one of its replicas that has caught up (see caught_up_replicas) for a CLUSTER FAILOVER (the graceful
# kind: the master stops taking writes, the replica catches up to its
# offset, then takes over, so no acknowledged write is lost) and waits,
# bounded by timeout_seconds (default 30; keep it below the pod's grace
# period), until this node is a replica. A replica, or a master without a
# healthy replica, has nothing to hand over and exits at once.
#
# Environment: REDIS_USER and REDISCLI_AUTH (the admin user and its
# password, read by redis-cli),
# LOCAL_REDIS_HOST (127.0.0.1), REDIS_PORT (6379), PRESTOP_MAX_LAG_BYTES
# (1048576). Half the timeout goes to waiting for a caught-up replica.
set -u

TIMEOUT="${1:-30}"
LOCAL="${LOCAL_REDIS_HOST:-127.0.0.1}"
PORT="${REDIS_PORT:-6379}"

log() { printf '%s cluster-prestop: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
# TLS (REDIS_TLS=yes): every redis-cli call adds these options; empty without TLS.
TLS_ARGS=""
if [ "${REDIS_TLS:-}" = yes ]; then TLS_ARGS="--tls --cacert ${REDIS_CA_FILE:-/tls/ca.crt}"; fi
# Who redis-cli logs in as (REDISCLI_AUTH holds that user's password).
CLI_USER="${REDIS_USER:+--user $REDIS_USER}"
local_cli() { timeout 5 redis-cli $CLI_USER $TLS_ARGS -h "$LOCAL" -p "$PORT" "$@" 2>/dev/null | tr -d '\r'; }
MAX_LAG="${PRESTOP_MAX_LAG_BYTES:-1048576}"

# "lag ip:port" of each replica the master LOCAL (node ID my_id) could hand over to: connected on
# the cluster bus, online for replication (its full sync finished) and at
# most MAX_LAG bytes behind; least behind first. The graceful CLUSTER
# FAILOVER closes the last gap while writes are paused, but a replica still
# in a full sync cannot: the master would pause writes for the whole
# manual-failover timeout and then stay master anyway.
caught_up_replicas() {
    bus="$(local_cli cluster nodes | awk -v id="$my_id" \
        '$4 == id && $8 == "connected" && $3 !~ /fail|handshake|noaddr/ { split($2, a, "@"); print a[1] }')"
    [ -n "$bus" ] || return 0
    local_cli info replication | awk -F: -v max="$MAX_LAG" -v bus="$bus" '
        BEGIN { n = split(bus, b, "\n"); for (i = 1; i <= n; i++) ok[b[i]] = 1 }
        $1 == "master_repl_offset" { master = $2 + 0 }
        $1 ~ /^slave[0-9]+$/ {
            # Not $2: an IPv6 address has colons of its own.
            line = $0; sub(/^slave[0-9]+:/, "", line)
            split(line, kv, ","); delete f
            for (i in kv) { split(kv[i], p, "="); f[p[1]] = p[2] }
            r[f["ip"] ":" f["port"]] = f["state"] " " f["offset"]
        }
        END {
            for (addr in r) {
                split(r[addr], v, " ")
                if ((addr in ok) && v[1] == "online" && master - v[2] <= max) print master - v[2], addr
            }
        }' | sort -n
}

# Why no replica qualifies, for the log.
replica_states() {
    local_cli info replication | awk -F: '
        $1 == "master_repl_offset" { m = $2 }
        $1 ~ /^slave[0-9]+$/ { line = $0; sub(/^slave[0-9]+:/, "", line); r = r "; replica " line }
        END { printf "master offset %s%s", m, r }'
}

# cluster-preroll.sh sources this file for the two functions above, with
# CLUSTER_PRESTOP_LIB=yes (LOCAL and my_id then name the master it asks
# about): the preStop itself does not run. Self-contained on purpose: a pod
# running an older template mounts only the script files it had.
if [ "${CLUSTER_PRESTOP_LIB:-}" = yes ]; then return 0; fi

role="$(local_cli role | head -n 1)"
if [ "$role" != "master" ]; then
    log "this node is ${role:-unreachable}, not a master: nothing to hand over"
    exit 0
fi
my_id="$(local_cli cluster myid)"

wait_s=$((TIMEOUT / 2))
elapsed=0
replica=""
while :; do
    replica="$(caught_up_replicas | awk 'NR == 1 { print $2 }')"
    [ -z "$replica" ] || break
    if [ "$elapsed" -ge "$wait_s" ]; then
        log "no replica caught up within ${wait_s}s (connected on the bus, sync finished, at most $MAX_LAG bytes behind): $(replica_states); stopping as master, the cluster fails over on its own"
        exit 0
    fi
    [ "$elapsed" -gt 0 ] || log "waiting up to ${wait_s}s for a replica that has caught up: $(replica_states)"
    sleep 1
    elapsed=$((elapsed + 1))
done
host="${replica%:*}"
rport="${replica##*:}"
log "master $my_id hands its slots to replica $host:$rport, caught up (CLUSTER FAILOVER)"
answer="$(timeout 5 redis-cli $CLI_USER $TLS_ARGS -h "$host" -p "$rport" cluster failover 2>&1 | tr -d '\r')"
if [ "$answer" != "OK" ]; then
    log "the replica refused the failover ($answer); stopping as master"
    exit 0
fi
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
