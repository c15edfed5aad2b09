# Functions shared by the Sentinel-mode pod scripts. Sourced, not run.
# POSIX sh: runs under busybox sh (redis:7.2-alpine) and Debian's dash.
#
# Reads: REDIS_USER and REDISCLI_AUTH (the ACL user the scripts log in as,
# admin, and its password: redis-cli reads it from the environment), MASTER_SET,
# SENTINEL_HOSTS (space-separated), REDIS_TLS and REDIS_CA_FILE (TLS on:
# redis-cli verifies with that CA), SENTINEL_PORT (default 26379),
# SENTINEL_QUERY_TIMEOUT (seconds per Sentinel, default 2), ACL_DIR (one
# password file per ACL user, default /run/secrets/redis-acl).

SENTINEL_PORT="${SENTINEL_PORT:-26379}"
SENTINEL_QUERY_TIMEOUT="${SENTINEL_QUERY_TIMEOUT:-2}"
ACL_DIR="${ACL_DIR:-/run/secrets/redis-acl}"
# Who redis-cli logs in as, on data nodes and Sentinels alike.
CLI_USER="${REDIS_USER:+--user $REDIS_USER}"

# Logs go to stderr so that functions can print results on stdout.
log() {
    echo "$(date '+%Y-%m-%dT%H:%M:%S') ${SCRIPT_NAME:-sentinel}: $*" >&2
}

die() {
    log "error: $*"
    exit 1
}

require_env() {
    for name in "$@"; do
        eval "_value=\${$name:-}"
        [ -n "$_value" ] || die "environment variable $name is not set"
    done
}

# TLS (REDIS_TLS=yes): every redis-cli call adds these options; empty without TLS.
TLS_ARGS=""
if [ "${REDIS_TLS:-}" = yes ]; then TLS_ARGS="--tls --cacert ${REDIS_CA_FILE:-/tls/ca.crt}"; fi

# redis-cli takes the password from REDISCLI_AUTH, never from its arguments.
# shellcheck disable=SC2086
redis_cmd() {
    _host="$1"
    _port="$2"
    shift 2
    timeout "$SENTINEL_QUERY_TIMEOUT" \
        redis-cli $CLI_USER $TLS_ARGS --no-auth-warning -h "$_host" -p "$_port" "$@" 2>/dev/null
}

# The ACL helpers (acl-lib.sh) are sourced by the start scripts that use
# them, not here: the data pods' preStop sources this file, and pods of a
# release before acl-lib.sh do not mount it but run this text in a roll.

# Prints "host port" as one Sentinel sees the master, or nothing.
sentinel_master_of() {
    _reply=$(redis_cmd "$1" "$SENTINEL_PORT" SENTINEL get-master-addr-by-name "$MASTER_SET") || return 0
    _host=$(printf '%s\n' "$_reply" | sed -n 1p)
    _port=$(printf '%s\n' "$_reply" | sed -n 2p)
    case "$_port" in
        '' | *[!0-9]*) return 0 ;;
    esac
    [ -n "$_host" ] && printf '%s %s\n' "$_host" "$_port"
}

# Prints "host port" named by the most Sentinels that answered (one try
# each), or nothing when none answered.
sentinels_master() {
    _answers=""
    for _s in $SENTINEL_HOSTS; do
        _one=$(sentinel_master_of "$_s")
        if [ -n "$_one" ]; then
            log "sentinel $_s names master $_one"
            _answers="$_answers$_one
"
        else
            log "sentinel $_s gave no answer"
        fi
    done
    [ -n "$_answers" ] || return 0
    printf '%s' "$_answers" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2, $3 }'
}

now() {
    date +%s
}

# One pass of a bounded wait loop: logs $1 unless the last pass logged the
# same (a long wait names each new reason once), fails once now() reaches
# the deadline $2, else sleeps SENTINEL_QUERY_INTERVAL. A loop starts with
# WAIT_SAID="".
WAIT_SAID=""
wait_pass() {
    [ "$1" = "$WAIT_SAID" ] || log "$1"
    WAIT_SAID=$1
    [ "$(now)" -lt "$2" ] || return 1
    sleep "$SENTINEL_QUERY_INTERVAL"
}

count_words() {
    set -- $1
    echo $#
}

# Asks every Sentinel of $SENTINEL_HOSTS once (SENTINEL_SKIP names a host
# not to ask: a Sentinel starting up skips itself, yet counts itself in the
# total, so a majority is of the whole set, never of whoever answered).
# Prints "<how many named a master>" followed by " host port" when a strict
# majority of all the Sentinels names that same master.
sentinels_majority_master() {
    _total=$(count_words "$SENTINEL_HOSTS")
    _answers=""
    for _s in $SENTINEL_HOSTS; do
        [ "$_s" != "${SENTINEL_SKIP:-}" ] || continue
        _one=$(sentinel_master_of "$_s")
        [ -z "$_one" ] || _answers="$_answers$_one
"
    done
    printf '%s' "$_answers" | sort | uniq -c | sort -rn |
        awk -v need="$((_total / 2 + 1))" '
            { named += $1; if (NR == 1 && $1 >= need) m = " " $2 " " $3 }
            END { print named + 0 m }'
}

# What a data node says about itself, on one line, or nothing when it does
# not answer (down, or still loading its data):
#   master <replid> <offset> <connected replicas>
#   replica <master host> <link status>
#   standby <replid> <offset> <parent replid> <parent offset>
#                                 started, waiting for a master to be chosen;
#                                 the replication state it last recorded
#                                 (see record_replication_state)
# A standby node publishes its recorded replication state as the name of a
# disabled ACL user (rp-standby-<replid>-<offset>-<parent replid>-<parent
# offset>): INFO cannot carry it, because with AOF persistence Redis forgets
# its replication offset on restart. A name with only the first two parts
# (an earlier release) reads as having no parent.
node_view() {
    _info=$(redis_cmd "$1" "$2" INFO replication | tr -d '\r') || return 0
    _role=$(printf '%s\n' "$_info" | awk -F: '$1 == "role" { print $2 }')
    case "$_role" in
        master)
            printf '%s\n' "$_info" | awk -F: '
                $1 == "master_replid" { id = $2 } $1 == "master_repl_offset" { off = $2 }
                $1 == "connected_slaves" { n = $2 }
                END { print "master", id, off + 0, n + 0 }'
            ;;
        slave)
            _standby=$(redis_cmd "$1" "$2" ACL USERS | tr -d '\r' | sed -n 's/^rp-standby-//p' | head -n 1)
            if [ -n "$_standby" ]; then
                printf 'standby %s\n' "$(printf '%s\n' "$_standby" | repl_state -)"
            else
                printf '%s\n' "$_info" | awk -F: '
                    $1 == "master_host" { h = $2 } $1 == "master_link_status" { l = $2 }
                    END { print "replica", h, l }'
            fi
            ;;
    esac
}

# Reads a recorded replication state, fields separated by $1 (" " in the
# file, "-" in the standby user's name), and prints it as "replid offset
# parent-replid parent-offset"; a record of an earlier release has only the
# first two (no parent), and no record at all prints nothing.
repl_state() { awk -F"$1" 'NR == 1 && NF >= 2 { print $1, $2 + 0, ($3 == "" ? "none" : $3), $4 + 0 }'; }

# Reads "host replid offset parent-replid parent-offset" lines (candidates
# in their configured order; the parent pair may be missing) and prints the
# host that must become master on a cold start.
# A node's history beats another's when it continues it: the same replid at
# a higher offset, or a replid promoted from the other's (its parent replid
# is the other's replid). A promotion is the Sentinels' decision, so the
# promoted history wins even over writes its parent took after the branch
# point (Sentinel discards those too). A node with no recorded history
# ("none") is beaten by any node with one. The winner is a node no other
# beats; when several unrelated histories are left (no record links them),
# the replid most nodes share wins, then the highest offset. An exact tie
# goes to the first host listed, so every node that sees the same states
# picks the same one.
elect_master() {
    awk '
        function beats(a, b) {
            if (id[a] == "none") return 0
            if (id[b] == "none") return 1
            if (id[a] == id[b]) return off[a] > off[b]
            return parent[a] == id[b]
        }
        {
            host[NR] = $1; id[NR] = $2; off[NR] = $3 + 0
            parent[NR] = ($4 == "" ? "none" : $4); size[$2]++
        }
        END {
            best = 0
            for (i = 1; i <= NR; i++) {
                beaten = 0
                for (j = 1; j <= NR; j++) if (j != i && beats(j, i)) beaten = 1
                if (beaten) continue
                if (best == 0) { best = i; continue }
                if (size[id[i]] != size[id[best]]) { if (size[id[i]] > size[id[best]]) best = i; continue }
                if (off[i] > off[best]) best = i
            }
            if (best) print host[best]
        }'
}

# Writes "replid offset parent-replid parent-offset" of the node at "host
# port" to file $3 when that state is worth keeping: a master's, or an
# in-sync replica's. The parent pair is the history this one was promoted
# from (INFO's master_replid2 and the offset it is valid up to), "none 0"
# when there is none: it is what shows that a promoted node's history is
# newer than a node still holding the old one. A standby or syncing node's
# INFO shows a fresh replid and offset 0, which must never overwrite what
# the node recorded before it restarted.
record_replication_state() {
    _info=$(redis_cmd "$1" "$2" INFO replication | tr -d '\r') || return 0
    _state=$(printf '%s\n' "$_info" | awk -F: '
        { v[$1] = $2 }
        END {
            keep = v["role"] == "master" ||
                (v["role"] == "slave" && v["master_link_status"] == "up" && v["master_sync_in_progress"] == "0")
            parent = v["master_replid2"]; upto = v["second_repl_offset"] - 1
            if (parent == "" || parent ~ /^0+$/ || upto < 0) { parent = "none"; upto = 0 }
            if (keep && v["master_replid"] != "") print v["master_replid"], v["master_repl_offset"] + 0, parent, upto
        }')
    [ -n "$_state" ] || return 0
    printf '%s\n' "$_state" >"$3.tmp" && mv "$3.tmp" "$3"
}
