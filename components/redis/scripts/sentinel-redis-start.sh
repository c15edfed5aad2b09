#!/bin/sh
# Start a Redis data node of a Sentinel-managed master set.
#
# Writes the runtime include (password, announced hostname, and the master
# to follow), then execs redis-server. Which master to follow comes from the
# Sentinels, not from this pod's ordinal: after a failover the initial master
# must come back as a replica, never as a second master.
#
# Environment (required): REDIS_PASSWORD, MASTER_SET, REDIS_ANNOUNCE_HOST
# (this pod's stable DNS name), INITIAL_MASTER_HOST (stable DNS name of the
# initial master, pod 0), SENTINEL_HOSTS (space-separated stable names).
# Optional: REDIS_PORT (6379), SENTINEL_PORT (26379), REDIS_CONF
# (/usr/local/etc/redis/redis.conf), RUNTIME_CONF (/run/redis/runtime.conf),
# SENTINEL_QUERY_TRIES (5), SENTINEL_QUERY_INTERVAL (seconds, 2),
# SENTINEL_QUERY_TIMEOUT (seconds per Sentinel, 2), REDIS_SERVER_BIN
# (redis-server).
set -eu

SCRIPT_NAME=sentinel-redis-start
. "$(dirname "$0")/sentinel-lib.sh"

require_env REDIS_PASSWORD MASTER_SET REDIS_ANNOUNCE_HOST INITIAL_MASTER_HOST SENTINEL_HOSTS
REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_CONF="${REDIS_CONF:-/usr/local/etc/redis/redis.conf}"
RUNTIME_CONF="${RUNTIME_CONF:-/run/redis/runtime.conf}"
SENTINEL_QUERY_TRIES="${SENTINEL_QUERY_TRIES:-5}"
SENTINEL_QUERY_INTERVAL="${SENTINEL_QUERY_INTERVAL:-2}"
REDIS_SERVER_BIN="${REDIS_SERVER_BIN:-redis-server}"

master=""
try=1
while [ "$try" -le "$SENTINEL_QUERY_TRIES" ]; do
    log "asking the sentinels who the master of $MASTER_SET is (try $try of $SENTINEL_QUERY_TRIES)"
    master=$(sentinels_master)
    [ -z "$master" ] || break
    [ "$try" -eq "$SENTINEL_QUERY_TRIES" ] || sleep "$SENTINEL_QUERY_INTERVAL"
    try=$((try + 1))
done

if [ -n "$master" ]; then
    master_host=${master% *}
    master_port=${master#* }
    log "the sentinels name $master_host:$master_port as master"
elif [ "$REDIS_ANNOUNCE_HOST" = "$INITIAL_MASTER_HOST" ]; then
    master_host=$REDIS_ANNOUNCE_HOST
    master_port=$REDIS_PORT
    log "no sentinel answered; this is the initial master, starting as master"
else
    master_host=$INITIAL_MASTER_HOST
    master_port=$REDIS_PORT
    log "no sentinel answered; following the initial master $master_host:$master_port"
fi

# Redis config strings are double-quoted; escape backslashes and quotes.
quoted_password=$(printf '%s' "$REDIS_PASSWORD" | sed 's/\\/\\\\/g; s/"/\\"/g')

umask 077
mkdir -p "$(dirname "$RUNTIME_CONF")"
tmp="$RUNTIME_CONF.tmp"
{
    printf 'requirepass "%s"\n' "$quoted_password"
    printf 'masterauth "%s"\n' "$quoted_password"
    echo "replica-announce-ip $REDIS_ANNOUNCE_HOST"
    echo "replica-announce-port $REDIS_PORT"
    if [ "$master_host" != "$REDIS_ANNOUNCE_HOST" ]; then
        echo "replicaof $master_host $master_port"
    fi
} >"$tmp"
mv "$tmp" "$RUNTIME_CONF"

if [ "$master_host" = "$REDIS_ANNOUNCE_HOST" ]; then
    log "wrote $RUNTIME_CONF; starting redis as master"
else
    log "wrote $RUNTIME_CONF; starting redis as replica of $master_host:$master_port"
fi
exec "$REDIS_SERVER_BIN" "$REDIS_CONF"
