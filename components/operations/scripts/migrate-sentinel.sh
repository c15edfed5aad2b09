#!/bin/sh
# Node-group migration of a Sentinel deployment, one step per run
# (migration Job, redis image): sh /scripts/migrate-sentinel.sh
# The same three steps as the cluster's migrate.sh; each is idempotent:
#   replicas  every pod of the new StatefulSet (on the new nodes) is a
#             replica of the master the Sentinels name, in sync, and every
#             Sentinel lists it;
#   promote   old pods get replica-priority 0 (no Sentinel picks them), the
#             master's writes are paused until every new replica holds them
#             all, SENTINEL FAILOVER hands the master role to a new pod, the
#             old master follows it, writes resume: no acknowledged write
#             is lost;
#   retire    once the old pods are gone (their StatefulSet left the program
#             in the same `pulumi up`), each Sentinel in turn gets SENTINEL
#             RESET and relearns the master's replicas and its peers, so it
#             forgets the old pods.
#
# Environment:
#   STEP             replicas | promote | retire                     (required)
#   OLD_NODES        space-separated hosts of the old StatefulSet's pods (required)
#   NEW_NODES        space-separated hosts of the new StatefulSet's pods (required)
#   SENTINEL_HOSTS   space-separated Sentinel hosts                   (required)
#   MASTER_SET       the Sentinels' master set name                   (required)
#   REDISCLI_AUTH    the password (data nodes and Sentinels)          (required)
#   REDIS_PORT (6379), SENTINEL_PORT (26379), WAIT_TIMEOUT (seconds per wait, 600),
#   PAUSE_SECONDS (longest write pause of the promotion, 30)
set -eu
SCRIPT_NAME=migrate-sentinel
. "$(dirname "$0")/ops-lib.sh"

require_env STEP OLD_NODES NEW_NODES SENTINEL_HOSTS MASTER_SET REDISCLI_AUTH
WAIT_TIMEOUT="${WAIT_TIMEOUT:-600}"
# Why the last check failed, for the message when a wait runs out.
WHY=""
PAUSE_SECONDS="${PAUSE_SECONDS:-30}"

count() { set -- $1; echo $#; }


pong() { [ "$(cli "$1" -- ping)" = "PONG" ]; }
gone() { ! pong "$1"; }
scli() {
    _sh="$1"
    shift
    cli "$_sh" "$SENTINEL_PORT" -- "$@"
}
# One field of SENTINEL MASTER (flat key/value lines) from Sentinel $1.
sentinel_field() { cli "$1" "$SENTINEL_PORT" -- sentinel master "$MASTER_SET" | awk -v k="$2" 'NR % 2 == 1 { key = $0; next } key == k { print; exit }'; }
# "host flags" of each replica Sentinel $1 knows.
sentinel_replicas() {
    cli "$1" "$SENTINEL_PORT" -- sentinel replicas "$MASTER_SET" | awk '
        prev == "ip" { host = $0 } prev == "flags" { print host, $0 } { prev = $0 }'
}

MASTER=""
MASTER_PORT=""
# The master most Sentinels name; waits until there is one.
named_master() {
    _m=$(sentinel_master)
    [ -n "$_m" ] || return 1
    MASTER=${_m% *}
    MASTER_PORT=${_m#* }
}

# A new pod follows the master with its link up and no sync running.
following() {
    _info=$(cli "$1" -- info replication)
    printf '%s\n' "$_info" | grep -qx "master_host:$MASTER" &&
        printf '%s\n' "$_info" | grep -qx "master_link_status:up" &&
        printf '%s\n' "$_info" | grep -qx "master_sync_in_progress:0"
}
# The master lists every new pod as an online replica.
all_new_online() {
    _info=$(cli "$MASTER" "$MASTER_PORT" -- info replication)
    for _n in $NEW_NODES; do
        [ "$_n" = "$MASTER" ] && continue
        printf '%s\n' "$_info" | grep -q "^slave[0-9]*:ip=$_n,port=[0-9]*,state=online," || return 1
    done
}
# Every new pod's replication offset has reached the master's.
caught_up() {
    cli "$MASTER" "$MASTER_PORT" -- info replication | awk -F: -v new=" $NEW_NODES " '
        $1 == "master_repl_offset" { master = $2 }
        $1 ~ /^slave[0-9]+$/ {
            n = split($2, kv, ","); ip = ""; off = -1
            for (i = 1; i <= n; i++) { split(kv[i], p, "="); if (p[1] == "ip") ip = p[2]; if (p[1] == "offset") off = p[2] + 0 }
            if (index(new, " " ip " ")) { seen++; if (off < master + 0) behind = 1 }
        }
        END { exit (behind || seen == 0) ? 1 : 0 }'
}
# Sentinel $1 lists every new pod (but the master) as a replica.
sentinel_knows_new() {
    _known=$(sentinel_replicas "$1" | awk '$2 !~ /s_down|o_down|disconnected/ { print $1 }')
    for _n in $NEW_NODES; do
        [ "$_n" = "$MASTER" ] && continue
        printf '%s\n' "$_known" | grep -qx "$_n" || { WHY="sentinel $1 does not list $_n as a healthy replica"; return 1; }
    done
}
# Sentinel $1 names the master, knows exactly the other new pods as
# replicas, and sees all the other Sentinels.
sentinel_clean() {
    sentinel_knows_new "$1" || return 1
    _old=$(sentinel_replicas "$1" | awk '{ print $1 }' | while read -r _h; do if ! is_new "$_h"; then echo "$_h"; fi; done)
    WHY="sentinel $1 still lists old pods: $_old"
    [ -z "$_old" ] || return 1
    _peers=$(sentinel_field "$1" num-other-sentinels)
    WHY="sentinel $1 sees ${_peers:-no} other Sentinels"
    [ "$_peers" = "$(($(count "$SENTINEL_HOSTS") - 1))" ]
}
new_master_named() { named_master && is_new "$MASTER"; }
# Sentinel $1 has ended the failover: its own record of the master is
# $MASTER and no failover is in progress. The leader of a failover reports
# the promoted replica to get-master-addr-by-name as soon as it starts
# reconfiguring the replicas (one at a time, parallel-syncs), but keeps the
# old master as its record until every replica is reconfigured or the
# failover times out; SENTINEL RESET in that window resets it to monitor
# the old master, which is gone by the retire step: it never learns the new
# replicas. This was the cause of the retire step's intermittent failure.
sentinel_switched() {
    _ip=$(sentinel_field "$1" ip)
    _flags=$(sentinel_field "$1" flags)
    WHY="sentinel $1 records ${_ip:-nothing} as master with flags ${_flags:-none}: its failover has not ended"
    [ "$_ip" = "$MASTER" ] || return 1
    case ",$_flags," in *,failover_in_progress,*) return 1 ;; esac
}
all_sentinels_switched() {
    for _s in $SENTINEL_HOSTS; do sentinel_switched "$_s" || return 1; done
}
master_answers() { named_master && cli "$MASTER" "$MASTER_PORT" -- info replication | grep -qx "role:master"; }

OLD_MASTER=""
unpause() { cli "$OLD_MASTER" -- client unpause >/dev/null || log "CLIENT UNPAUSE failed on $OLD_MASTER"; }
unpause_and_die() { unpause; die "$*"; }

new_replicas_follow() {
    for _r in $NEW_NODES; do
        [ "$_r" = "$MASTER" ] && continue
        until_true "$_r following the master $MASTER" following "$_r"
        log "$_r is a replica of $MASTER in sync"
    done
}

report() {
    named_master || die "no Sentinel names a master"
    log "the Sentinels name $MASTER:$MASTER_PORT as master of $MASTER_SET"
    for _s in $SENTINEL_HOSTS; do
        log "sentinel $_s knows replicas: $(sentinel_replicas "$_s" | awk '{ printf "%s(%s) ", $1, $2 }')"
    done
}

until_true "a master named by the Sentinels" named_master
case "$STEP" in
    replicas)
        for n in $NEW_NODES; do until_true "PONG from $n" pong "$n"; done
        for n in $NEW_NODES; do
            [ "$n" = "$MASTER" ] && { log "$n is already the master"; continue; }
            if ! cli "$n" -- info replication | grep -qx "master_host:$MASTER"; then
                # The start script follows the Sentinels' master; a pod that
                # started while none answered may follow no one. Only an empty
                # pod is pointed at the master: a pod holding keys is a mystery.
                [ "$(cli "$n" -- dbsize)" = "0" ] || die "$n does not follow $MASTER and holds keys; look at it by hand"
                log "pointing $n at the master $MASTER:$MASTER_PORT"
                [ "$(cli "$n" -- replicaof "$MASTER" "$MASTER_PORT")" = "OK" ] || die "REPLICAOF refused by $n"
            fi
        done
        for n in $NEW_NODES; do
            [ "$n" = "$MASTER" ] && continue
            until_true "$n in sync with $MASTER" following "$n"
            log "$n is a replica of $MASTER in sync"
        done
        for s in $SENTINEL_HOSTS; do
            until_true "sentinel $s listing the new pods" sentinel_knows_new "$s"
            log "sentinel $s lists every new pod"
        done
        ;;
    promote)
        if is_new "$MASTER"; then
            log "the master $MASTER is already a new pod"
        else
            is_old "$MASTER" || die "the master $MASTER is neither an old nor a new pod"
            for n in $OLD_NODES; do
                # Runtime only: an old pod restarted before retire is eligible
                # again, so this step sets it on every run.
                if [ "$(cli "$n" -- config set replica-priority 0)" = "OK" ]; then
                    log "$n: replica-priority 0 (never promoted)"
                else
                    log "$n did not answer CONFIG SET replica-priority; it is down or gone"
                fi
            done
            for n in $NEW_NODES; do until_true "$n in sync with $MASTER" following "$n"; done
            until_true "the master listing every new pod online" all_new_online
            OLD_MASTER=$MASTER
            log "pausing writes on $OLD_MASTER for at most ${PAUSE_SECONDS}s"
            [ "$(cli "$OLD_MASTER" -- client pause $((PAUSE_SECONDS * 1000)) write)" = "OK" ] || die "CLIENT PAUSE refused by $OLD_MASTER"
            pause_end=$(($(now_s) + PAUSE_SECONDS))
            until caught_up; do
                [ "$(now_s)" -lt "$pause_end" ] || unpause_and_die "the new replicas did not catch up within ${PAUSE_SECONDS}s"
                sleep 0.2
            done
            log "every replica holds every write of $OLD_MASTER; asking for SENTINEL FAILOVER"
            asked=""
            for s in $SENTINEL_HOSTS; do
                reply=$(scli "$s" sentinel failover "$MASTER_SET") || reply=""
                log "sentinel $s answered SENTINEL FAILOVER with: ${reply:-nothing}"
                case "$reply" in OK | *INPROG*) asked=$s; break ;; esac
            done
            [ -n "$asked" ] || unpause_and_die "no Sentinel accepted SENTINEL FAILOVER"
            until new_master_named; do
                [ "$(now_s)" -lt "$pause_end" ] || unpause_and_die "no new pod named master within ${PAUSE_SECONDS}s"
                sleep 0.5
            done
            log "the Sentinels name $MASTER as master; $OLD_MASTER follows it"
            cli "$OLD_MASTER" -- replicaof "$MASTER" "$MASTER_PORT" >/dev/null || log "REPLICAOF failed on $OLD_MASTER; the Sentinels will demote it"
            unpause
        fi
        until_true "a new pod answering as master" master_answers
        is_new "$MASTER" || die "the master $MASTER is not a new pod"
        # The Sentinels move the replicas over one by one (parallel-syncs):
        # done when every new pod follows the new master in sync, and every
        # Sentinel has ended the failover while the old pods still run.
        new_replicas_follow
        until_true "every Sentinel ending the failover" all_sentinels_switched
        log "every Sentinel records $MASTER as master, no failover in progress"
        ;;
    retire)
        is_new "$MASTER" || die "the master $MASTER is not a new pod; run STEP=promote first"
        for n in $OLD_NODES; do
            until_true "the old pod $n going away" gone "$n"
            log "$n is gone"
        done
        new_replicas_follow
        # One Sentinel at a time, so the others keep a quorum meanwhile.
        for s in $SENTINEL_HOSTS; do
            if sentinel_clean "$s"; then
                log "sentinel $s knows only the new pods already"
                continue
            fi
            until_true "sentinel $s ending the failover before its reset" sentinel_switched "$s"
            [ "$(scli "$s" sentinel reset "$MASTER_SET")" = "1" ] || die "SENTINEL RESET refused by $s"
            log "sentinel $s reset; waiting until it relearns the replicas and its peers"
            until_true "sentinel $s relearning the new pods" sentinel_clean "$s"
        done
        until_true "the Sentinels naming a new pod" new_master_named
        ;;
    *) die "STEP must be replicas, promote or retire, got '$STEP'" ;;
esac
report
log "step $STEP done"
