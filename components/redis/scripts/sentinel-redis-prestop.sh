#!/bin/sh
# preStop hook of a Redis data node: hand the master role over before the
# pod stops, losing no acknowledged write.
#
# Usage: sentinel-redis-prestop.sh [timeout_seconds]   (default 30; keep it
# below the pod's terminationGracePeriodSeconds)
#
# If this node is the master: pause client writes (a paused write is never
# acknowledged), wait until the replicas hold every acknowledged write, ask a
# Sentinel for SENTINEL FAILOVER, wait until the Sentinels name another
# master, turn this node into its replica and only then lift the pause, so
# the held writes fail with READONLY instead of being acknowledged by a node
# that is no longer master. A Sentinel alone would wait ~8 s before demoting
# the old master, and writes it acknowledged meanwhile would be lost.
#
# Environment (required): REDISCLI_AUTH (and REDIS_USER: the admin ACL user), MASTER_SET, REDIS_ANNOUNCE_HOST,
# SENTINEL_HOSTS. Optional: LOCAL_REDIS_HOST (127.0.0.1), REDIS_PORT (6379),
# SENTINEL_PORT (26379), SENTINEL_QUERY_TIMEOUT (2).
set -eu

SCRIPT_NAME=sentinel-redis-prestop
. "$(dirname "$0")/sentinel-lib.sh"

require_env REDISCLI_AUTH MASTER_SET REDIS_ANNOUNCE_HOST SENTINEL_HOSTS
timeout_s="${1:-30}"
LOCAL_REDIS_HOST="${LOCAL_REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6379}"
deadline=$(($(now) + timeout_s))

local_cmd() {
    redis_cmd "$LOCAL_REDIS_HOST" "$REDIS_PORT" "$@"
}

info=$(local_cmd INFO replication | tr -d '\r') || info=""
case "$info" in
    *role:master*) ;;
    *)
        log "this node is not the master (or does not answer); nothing to hand over"
        exit 0
        ;;
esac
replicas=$(printf '%s\n' "$info" | awk -F: '$1 == "connected_slaves" { print $2 }')
if [ "${replicas:-0}" -eq 0 ]; then
    log "this node is the master but no replica is connected; nothing to hand over to"
    exit 0
fi

log "this node is the master with $replicas replica(s); pausing client writes for at most ${timeout_s}s"
local_cmd CLIENT PAUSE $((timeout_s * 1000)) WRITE >/dev/null || die "CLIENT PAUSE failed"

unpause() {
    local_cmd CLIENT UNPAUSE >/dev/null || log "CLIENT UNPAUSE failed"
}

# True when every online replica's offset has reached the master's.
replicas_caught_up() {
    local_cmd INFO replication | tr -d '\r' | awk -F: '
        $1 == "master_repl_offset" { master = $2 }
        $1 ~ /^slave[0-9]+$/ {
            n = split($2, kv, ",")
            for (i = 1; i <= n; i++) {
                split(kv[i], p, "=")
                if (p[1] == "offset") offsets[++count] = p[2]
            }
        }
        END {
            if (count == 0) exit 1
            for (i = 1; i <= count; i++) if (offsets[i] + 0 < master + 0) exit 1
            exit 0
        }'
}

log "waiting for the replicas to catch up with the master"
until replicas_caught_up; do
    if [ "$(now)" -ge "$deadline" ]; then
        unpause
        die "replicas did not catch up within ${timeout_s}s; leaving failover to the sentinels"
    fi
    sleep 0.2
done
log "replicas hold every write; asking a sentinel to fail over"

asked=""
for s in $SENTINEL_HOSTS; do
    reply=$(redis_cmd "$s" "$SENTINEL_PORT" SENTINEL FAILOVER "$MASTER_SET") || reply=""
    log "sentinel $s answered SENTINEL FAILOVER with: ${reply:-nothing}"
    case "$reply" in
        OK | *INPROG*) asked=$s; break ;;
    esac
done
if [ -z "$asked" ]; then
    unpause
    die "no sentinel accepted SENTINEL FAILOVER"
fi

log "waiting for the sentinels to name another master"
while :; do
    master=$(sentinels_master)
    if [ -n "$master" ] && [ "${master% *}" != "$REDIS_ANNOUNCE_HOST" ]; then
        break
    fi
    if [ "$(now)" -ge "$deadline" ]; then
        unpause
        die "no new master named within ${timeout_s}s"
    fi
    sleep 0.5
done

log "the sentinels name ${master% *}:${master#* }; turning this node into its replica"
local_cmd REPLICAOF "${master% *}" "${master#* }" >/dev/null || log "REPLICAOF failed; the sentinels will demote this node"
unpause
log "handover done"
