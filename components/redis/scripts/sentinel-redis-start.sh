#!/bin/sh
# Start a Redis data node of a Sentinel-managed master set, and supervise it.
#
# Which master to follow comes from a majority of the Sentinels, never from
# this pod's ordinal and never from the first Sentinel that answers: after a
# failover the initial master must come back as a replica, and a Sentinel
# that restarted with no memory must not be able to name a stale node.
#
# 1. Ask every Sentinel (bounded tries). A strict majority of all of them
#    names the same master: follow it (or start as master if it is this
#    node), start redis.
# 2. Otherwise start redis as a standby: a replica of nothing, read-only, no
#    writes accepted, so this node cannot be a second master. Then, bounded
#    by START_WAIT_SECONDS:
#    - as soon as a majority of Sentinels names a master, follow it;
#    - while some Sentinel names a master but no majority agrees, wait;
#    - when no Sentinel names any master (a true cold start: every Sentinel
#      restarted, or none is up), ask the other data nodes: follow a node
#      that already is master; else, once every data node answers as a
#      standby, the node holding the newest data (elect_master in
#      sentinel-lib.sh: the history that continues the others', a promoted
#      one beating the one it was promoted from) becomes master and the
#      others follow it. No node
#      takes the master role while a peer that may hold newer data has not
#      answered.
#    When the bound runs out, redis is stopped and the script exits 1 (the
#    kubelet restarts the container, which asks again).
# 3. Supervise: every RECORD_INTERVAL seconds, and once more on SIGTERM
#    (after pausing client writes), record this node's replication id and
#    offset, and the history it was promoted from, in REPL_STATE_FILE on the
#    data volume. Redis itself forgets its
#    offset on restart when it loads an AOF, and the cold start needs it.
#    SIGTERM/SIGINT are passed to redis; the script exits with redis's status.
#
# Environment (required): REDIS_USER and REDISCLI_AUTH (the admin ACL user
# and its password), MASTER_SET, REDIS_ANNOUNCE_HOST
# (this pod's stable DNS name), REDIS_HOSTS (space-separated stable names of
# every data pod of the deployment, this one included), SENTINEL_HOSTS
# (space-separated stable names of every Sentinel).
# Optional: REDIS_PORT (6379), SENTINEL_PORT (26379), LOCAL_REDIS_HOST
# (127.0.0.1), REDIS_CONF (/usr/local/etc/redis/redis.conf), RUNTIME_CONF
# (/run/redis/runtime.conf), REPL_STATE_FILE (/data/replication-state),
# SENTINEL_QUERY_TRIES (5), SENTINEL_QUERY_INTERVAL (seconds, 2),
# SENTINEL_QUERY_TIMEOUT (seconds per query, 2), START_WAIT_SECONDS (300),
# RECORD_INTERVAL (seconds, 1), REDIS_SERVER_BIN (redis-server), USERS_ACL
# (/usr/local/etc/redis/users.acl: the users' rules), ACL_DIR
# (/run/secrets/redis-acl: one password file per user).
set -eu

SCRIPT_NAME=sentinel-redis-start
. "$(dirname "$0")/sentinel-lib.sh"
# A pod of an earlier release mounts only the keys it listed, and runs this
# text if its container restarts before the roll reaches it.
[ -r "$(dirname "$0")/acl-lib.sh" ] || die "acl-lib.sh is not mounted here: this pod still has the template of an earlier release; the rolling update replaces it"
. "$(dirname "$0")/acl-lib.sh"

require_env REDISCLI_AUTH MASTER_SET REDIS_ANNOUNCE_HOST REDIS_HOSTS SENTINEL_HOSTS
REDIS_PORT="${REDIS_PORT:-6379}"
LOCAL_REDIS_HOST="${LOCAL_REDIS_HOST:-127.0.0.1}"
REDIS_CONF="${REDIS_CONF:-/usr/local/etc/redis/redis.conf}"
RUNTIME_CONF="${RUNTIME_CONF:-/run/redis/runtime.conf}"
REPL_STATE_FILE="${REPL_STATE_FILE:-/data/replication-state}"
SENTINEL_QUERY_TRIES="${SENTINEL_QUERY_TRIES:-5}"
SENTINEL_QUERY_INTERVAL="${SENTINEL_QUERY_INTERVAL:-2}"
START_WAIT_SECONDS="${START_WAIT_SECONDS:-300}"
RECORD_INTERVAL="${RECORD_INTERVAL:-1}"
REDIS_SERVER_BIN="${REDIS_SERVER_BIN:-redis-server}"
USERS_ACL="${USERS_ACL:-/usr/local/etc/redis/users.acl}"
acl_check_passwords "$USERS_ACL" replication
# Where a standby points: nothing listens on port 1, so the link stays down.
STANDBY_MASTER="127.0.0.1 1"

local_cmd() { redis_cmd "$LOCAL_REDIS_HOST" "$REDIS_PORT" "$@"; }

# $1: "" to start as master, else "host port" to follow. The ACL users
# with their passwords, and the replication login, go only into this
# in-memory file (mode 0600).
write_runtime_conf() {
    umask 077
    mkdir -p "$(dirname "$RUNTIME_CONF")"
    {
        acl_user_lines "$USERS_ACL"
        echo "masteruser replication"
        printf 'masterauth %s\n' "$(acl_quoted_password replication)"
        echo "replica-announce-ip $REDIS_ANNOUNCE_HOST"
        echo "replica-announce-port $REDIS_PORT"
        [ -z "$1" ] || echo "replicaof $1"
    } >"$RUNTIME_CONF.tmp"
    mv "$RUNTIME_CONF.tmp" "$RUNTIME_CONF"
}

REDIS_PID=""
RECORDER_PID=""
stopping=""

on_stop() {
    stopping=yes
    [ -z "$RECORDER_PID" ] || kill "$RECORDER_PID" 2>/dev/null || true
    # Paused, a master acknowledges no write after the state is recorded.
    local_cmd CLIENT PAUSE 10000 WRITE >/dev/null || true
    record_replication_state "$LOCAL_REDIS_HOST" "$REDIS_PORT" "$REPL_STATE_FILE"
    log "stop signal: recorded replication state '$(cat "$REPL_STATE_FILE" 2>/dev/null || echo none)'; stopping redis"
    kill -TERM "$REDIS_PID" 2>/dev/null || true
}

give_up() {
    log "error: $*"
    [ -z "$RECORDER_PID" ] || kill "$RECORDER_PID" 2>/dev/null || true
    kill -TERM "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    exit 1
}

follow() {
    if [ "${1% *}" = "$REDIS_ANNOUNCE_HOST" ]; then
        [ "$(local_cmd REPLICAOF NO ONE)" = "OK" ] || give_up "REPLICAOF NO ONE refused"
        log "this node is now the master"
    else
        [ "$(local_cmd REPLICAOF "${1% *}" "${1#* }")" = "OK" ] || give_up "REPLICAOF $1 refused"
        log "this node now follows the master ${1% *}:${1#* }"
    fi
}

# Prints "follow <host> <port>" for the master this node should follow on a
# cold start, or "wait <why>".
cold_start_master() {
    _masters="" _standby="" _silent=""
    for _h in $REDIS_HOSTS; do
        [ "$_h" != "$REDIS_ANNOUNCE_HOST" ] || continue
        _v=$(node_view "$_h" "$REDIS_PORT")
        set -- $_v
        case "${1:-}" in
            master) _masters="$_masters$4 $3 $_h $REDIS_PORT
" ;;
            standby) _standby="$_standby$_h $2 $3 $4 $5
" ;;
            replica)
                if [ "$3" = up ]; then
                    _masters="${_masters}0 0 $2 $REDIS_PORT
"
                else
                    _silent="$_silent $_h(replica, link down)"
                fi
                ;;
            *) _silent="$_silent $_h" ;;
        esac
    done
    if [ -n "$_masters" ]; then
        # Most replicas first, then the highest offset.
        printf '%s' "$_masters" | sort -k1,1nr -k2,2nr | awk 'NR == 1 { print "follow", $3, $4 }'
        return 0
    fi
    if [ -n "$_silent" ]; then
        echo "wait waiting for${_silent} to answer: no node takes the master role while a peer may hold newer data"
        return 0
    fi
    _winner=$( {
        for _h in $REDIS_HOSTS; do
            if [ "$_h" = "$REDIS_ANNOUNCE_HOST" ]; then
                echo "$_h $MY_STATE"
            else
                printf '%s' "$_standby" | awk -v h="$_h" '$1 == h'
            fi
        done
    } | elect_master)
    if [ "$_winner" = "$REDIS_ANNOUNCE_HOST" ]; then
        log "cold start: every data node answered; this node holds the newest data ($MY_STATE)"
        echo "follow $REDIS_ANNOUNCE_HOST $REDIS_PORT"
    else
        echo "wait cold start: $_winner holds the newest data ($(printf '%s' "$_standby" | awk -v h="$_winner" '$1 == h { print $2, $3, $4, $5 }')); waiting for it to take the master role"
    fi
}

choose_master() {
    deadline=$(($(now) + START_WAIT_SECONDS))
    until [ "$(local_cmd PING)" = "PONG" ]; do
        [ -z "$stopping" ] || return 0
        [ "$(now)" -lt "$deadline" ] || give_up "redis did not answer PING within ${START_WAIT_SECONDS}s"
        sleep 1
    done
    # "replid offset parent-replid parent-offset"; a file an earlier release
    # wrote has only the first two.
    MY_STATE=$(repl_state ' ' 2>/dev/null <"$REPL_STATE_FILE" || true)
    [ -n "$MY_STATE" ] || MY_STATE="none 0 none 0"
    standby_user="rp-standby-$(printf '%s' "$MY_STATE" | tr ' ' '-')"
    local_cmd ACL SETUSER "$standby_user" off >/dev/null || give_up "could not publish the standby state"
    log "standby: recorded replication state ($MY_STATE) published to the other data nodes"
    WAIT_SAID="" WHY=""
    master=""
    while [ -z "$stopping" ]; do
        set -- $(sentinels_majority_master)
        if [ "$#" -eq 3 ]; then
            master="$2 $3"
            log "a majority of the sentinels names $master as master"
            break
        fi
        if [ "$1" -gt 0 ]; then
            WHY="$1 sentinel(s) name a master but no majority agrees; waiting"
        else
            set -- $(cold_start_master)
            if [ "${1:-}" = follow ]; then
                master="$2 $3"
                break
            fi
            shift
            WHY="no sentinel knows a master; $*"
        fi
        wait_pass "$WHY" "$deadline" || give_up "no master chosen within ${START_WAIT_SECONDS}s (last: $WHY)"
    done
    [ -z "$stopping" ] || return 0
    follow "$master"
    local_cmd ACL DELUSER "$standby_user" >/dev/null || log "could not remove the ACL user $standby_user"
}

start_redis() {
    trap on_stop TERM INT
    "$REDIS_SERVER_BIN" "$REDIS_CONF" &
    REDIS_PID=$!
    if [ "${REDIS_TLS:-}" = yes ]; then
        log "TLS on: starting redis-tls-reload.sh: it reloads a renewed certificate without a restart"
        REDIS_PID="$REDIS_PID" REDIS_HOST="$LOCAL_REDIS_HOST" REDIS_PORT="$REDIS_PORT" \
            sh "$(dirname "$0")/redis-tls-reload.sh" &
    fi
}

supervise() {
    # The recorder ends with this shell ($$ is the parent's PID inside the
    # subshell), even if a stop signal reaches it before its trap reset does.
    [ -n "$stopping" ] || (
        trap - TERM INT
        while kill -0 $$ 2>/dev/null; do
            record_replication_state "$LOCAL_REDIS_HOST" "$REDIS_PORT" "$REPL_STATE_FILE"
            sleep "$RECORD_INTERVAL"
        done
    ) &
    RECORDER_PID=$!
    rc=0
    while :; do
        rc=0
        wait "$REDIS_PID" || rc=$?
        # A trapped signal ends `wait` early; redis may still be running.
        kill -0 "$REDIS_PID" 2>/dev/null || break
    done
    kill "$RECORDER_PID" 2>/dev/null || true
    log "redis exited with status $rc"
    exit "$rc"
}

master=""
try=1
while [ "$try" -le "$SENTINEL_QUERY_TRIES" ]; do
    set -- $(sentinels_majority_master)
    if [ "$#" -eq 3 ]; then
        master="$2 $3"
        break
    fi
    log "no majority of the sentinels names a master of $MASTER_SET ($1 of $(count_words "$SENTINEL_HOSTS") name one; try $try of $SENTINEL_QUERY_TRIES)"
    [ "$try" -eq "$SENTINEL_QUERY_TRIES" ] || sleep "$SENTINEL_QUERY_INTERVAL"
    try=$((try + 1))
done

if [ -n "$master" ] && [ "${master% *}" = "$REDIS_ANNOUNCE_HOST" ]; then
    log "a majority of the sentinels names this node as master; starting redis as master"
    write_runtime_conf ""
    start_redis
elif [ -n "$master" ]; then
    log "a majority of the sentinels names ${master% *}:${master#* } as master; starting redis as its replica"
    write_runtime_conf "$master"
    start_redis
else
    log "starting redis as a standby (read-only, follows no master) until the master is known"
    write_runtime_conf "$STANDBY_MASTER"
    start_redis
    choose_master
fi
supervise
