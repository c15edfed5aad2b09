#!/bin/sh
# Runs before the data StatefulSet changes, as a Job (components/redis/preroll.py)
# named by a hash of the pod template the roll applies:
#   sh /scripts/sentinel-preroll.sh
#
# Puts the master on pod 0 (the first of REDIS_HOSTS). The StatefulSet
# controller rolls from the highest ordinal down, so every replica then
# restarts on the new template before the master, whose preStop hands over
# to an already rolled replica: no replica still on the old version ever has
# to sync from a master on the new one (an older Redis cannot load a newer
# one's RDB).
#
# How, losing no acknowledged write: every other replica gets replica-priority
# 0 (runtime only, restored at the end however the script ends) and the
# script waits until every Sentinel that answers has seen it; then the
# preStop's own handover (sentinel-redis-prestop.sh, run against the current
# master: pause writes, wait until the replicas hold them all, SENTINEL
# FAILOVER, the old master follows the new one, unpause) moves the master,
# and the script waits until a majority of the Sentinels name pod 0 and pod 0
# says it is master.
#
# Nothing to do (no data pod answers: first create; pod 0 is already the
# master): it says so and exits 0 at once. It cannot (no Sentinel majority,
# pod 0 down or not an in-sync replica, a Sentinel that does not take the
# priorities, the handover fails): exits 1 with one line "STOPPED: ... pod
# <host> ...; nothing was moved" (or what was changed).
#
# Environment: REDIS_USER and REDISCLI_AUTH (admin), MASTER_SET, REDIS_HOSTS,
# SENTINEL_HOSTS, REDIS_TLS and REDIS_CA_FILE; optional REDIS_PORT (6379),
# SENTINEL_PORT (26379), PREROLL_WAIT_SECONDS (bound of each wait, 60),
# PREROLL_PAUSE_SECONDS (longest write pause of the handover, 20).
set -eu

SCRIPT_NAME=sentinel-preroll
SCRIPTS="$(dirname "$0")"
. "$SCRIPTS/sentinel-lib.sh"
# within (each wait below, bounded by WAIT).
. "$SCRIPTS/preroll-lib.sh"

die() { log "STOPPED: $*"; exit 1; }

require_env REDISCLI_AUTH MASTER_SET REDIS_HOSTS SENTINEL_HOSTS
export REDISCLI_AUTH
REDIS_PORT="${REDIS_PORT:-6379}"
WAIT="${PREROLL_WAIT_SECONDS:-60}"
PAUSE="${PREROLL_PAUSE_SECONDS:-20}"
# shellcheck disable=SC2086
set -- $REDIS_HOSTS
POD0="$1"

answering=""
for h in $REDIS_HOSTS; do
    [ -z "$(node_view "$h" "$REDIS_PORT")" ] || answering="$answering $h"
done
if [ -z "$answering" ]; then
    log "no data pod answers (first create, or every pod is down): nothing to move before the roll"
    exit 0
fi

majority=$(sentinels_majority_master)
master=${majority#* }
[ "$master" != "$majority" ] ||
    die "no majority of the $(count_words "$SENTINEL_HOSTS") Sentinels names a master (${majority%% *} answered), so the master cannot be moved safely before the roll; nothing was moved"
master=${master% *}
case " $REDIS_HOSTS " in
    *" $master "*) ;;
    *)
        log "the Sentinels name $master, a pod of another StatefulSet (a node-group migration runs): nothing to move for this one"
        exit 0
        ;;
esac
view0=$(node_view "$POD0" "$REDIS_PORT")
if [ "$master" = "$POD0" ] && [ "${view0%% *}" = master ]; then
    log "pod 0 ($POD0) is already the master: the roll (highest ordinal first) restarts every replica before it; nothing to move"
    exit 0
fi

# Pod 0 must be an in-sync replica of the master the Sentinels name.
in_sync() {
    redis_cmd "$1" "$REDIS_PORT" INFO replication | tr -d '\r' | awk -F: -v m="$2" '
        { v[$1] = $2 }
        END { exit !(v["role"] == "slave" && v["master_host"] == m && v["master_link_status"] == "up" && v["master_sync_in_progress"] == "0") }'
}
within "$WAIT" "pod 0 ($POD0) to be an in-sync replica of $master" in_sync "$POD0" "$master" || {
    view0=$(node_view "$POD0" "$REDIS_PORT")
    die "pod 0 ($POD0) is not an in-sync replica of the master $master within ${WAIT}s (it says: ${view0:-nothing, it does not answer}), so it cannot take the master role before the roll; nothing was moved"
}
prio0=$(redis_cmd "$POD0" "$REDIS_PORT" CONFIG GET replica-priority | sed -n 2p | tr -d '\r')
[ "${prio0:-0}" != 0 ] ||
    die "pod 0 ($POD0) has replica-priority 0 (no Sentinel would promote it; a node-group migration left it so?); nothing was moved"
log "the Sentinels name $master as master; pod 0 ($POD0) is an in-sync replica of it"

# Every other replica: priority 0 for the handover, restored on exit. The
# pods of REDIS_HOSTS that answer, and any other replica a Sentinel lists
# (an autoscaled pod beyond them); a listed one that does not answer is down,
# and a Sentinel never promotes a replica it sees down.
listed=$(for s in $SENTINEL_HOSTS; do
    redis_cmd "$s" "$SENTINEL_PORT" SENTINEL REPLICAS "$MASTER_SET" | tr -d '\r' | awk 'prev == "ip" { print } { prev = $0 }'
done | sort -u)
others=""
for h in $answering $listed; do
    [ "$h" != "$POD0" ] && [ "$h" != "$master" ] || continue
    case " $others " in *" $h "*) continue ;; esac
    if [ -z "$(node_view "$h" "$REDIS_PORT")" ]; then
        log "$h: listed by a Sentinel but does not answer (down or gone); a Sentinel does not promote it"
        continue
    fi
    others="$others $h"
done
restore=""
restore_priorities() {
    for entry in $restore; do
        h=${entry%=*}
        if [ "$(redis_cmd "$h" "$REDIS_PORT" CONFIG SET replica-priority "${entry##*=}" | tr -d '\r')" = OK ]; then
            log "$h: replica-priority ${entry##*=} again"
        else
            log "$h: could not restore replica-priority ${entry##*=} (a restart restores it from redis.conf)"
        fi
    done
    restore=""
}
trap restore_priorities EXIT
for h in $others; do
    p=$(redis_cmd "$h" "$REDIS_PORT" CONFIG GET replica-priority | sed -n 2p | tr -d '\r')
    [ -n "$p" ] || die "$h did not answer CONFIG GET replica-priority; nothing was moved"
    [ "$(redis_cmd "$h" "$REDIS_PORT" CONFIG SET replica-priority 0 | tr -d '\r')" = OK ] ||
        die "$h refused CONFIG SET replica-priority 0; nothing was moved"
    restore="$restore $h=$p"
    log "$h: replica-priority 0 for the handover (was $p)"
done

# Sentinels read a replica's priority from its INFO, every 10 s: wait until
# each Sentinel that answers lists every other replica with priority 0.
priorities_seen() {
    for s in $SENTINEL_HOSTS; do
        listed=$(redis_cmd "$s" "$SENTINEL_PORT" SENTINEL REPLICAS "$MASTER_SET" | tr -d '\r') || continue
        [ -n "$listed" ] || continue
        for h in $others; do
            printf '%s\n' "$listed" | awk -v h="$h" '
                prev == "name" { name = $0 } prev == "ip" { ip = $0 }
                prev == "slave-priority" { if (ip == h || name ~ "^" h ":") { f = ($0 == "0") } }
                { prev = $0 }
                END { exit !f }' || return 1
        done
    done
}
if [ -n "$others" ]; then
    within "$WAIT" "every Sentinel to see the priorities (they read INFO every 10 s)" priorities_seen ||
        die "the Sentinels did not see replica-priority 0 on$others within ${WAIT}s; nothing was moved (priorities restored)"
    log "every Sentinel that answers sees replica-priority 0 on$others"
fi

log "handing the master role from $master to pod 0 ($POD0) with the preStop's handover"
LOCAL_REDIS_HOST="$master" REDIS_ANNOUNCE_HOST="$master" \
    sh "$SCRIPTS/sentinel-redis-prestop.sh" "$PAUSE" ||
    die "the handover from $master to pod 0 ($POD0) failed (the line above says why); writes resumed on $master"

# True when a majority of the Sentinels name pod 0 (sets named: whom they name) and it says master.
pod0_is_master() {
    majority=$(sentinels_majority_master)
    named=${majority#* }
    [ "${named% *}" = "$POD0" ] && [ "$(node_view "$POD0" "$REDIS_PORT" | cut -d ' ' -f 1)" = master ]
}
within "$WAIT" "" pod0_is_master ||
    die "a majority of the Sentinels did not name pod 0 ($POD0) as master within ${WAIT}s after the handover (they name: ${named:-nobody})"
restore_priorities
log "pod 0 ($POD0) is the master and a majority of the Sentinels name it: the roll (highest ordinal first) restarts every replica before it"
