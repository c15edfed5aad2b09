# Functions shared by the backup, restore, drill and migration scripts.
# Sourced, not run. POSIX sh: busybox sh (redis:7.2-alpine), Debian's dash.
#
# Reads: SCRIPT_NAME (log prefix), REDIS_USER (the ACL user to log in as;
# unset: the default user), REDISCLI_AUTH (its password; redis-cli reads it
# from the environment, so it never appears in arguments),
# REDIS_PORT (6379), QUERY_TIMEOUT (seconds per short query, 5), REDIS_TLS
# and REDIS_CA_FILE (TLS on: redis-cli verifies the servers with that CA).
# Host lists are split on spaces on purpose; set -f keeps a name from being
# taken as a file pattern.
# shellcheck disable=SC2086
set -f

REDIS_PORT="${REDIS_PORT:-6379}"
QUERY_TIMEOUT="${QUERY_TIMEOUT:-5}"
# Every redis-cli call to the deployment logs in as REDIS_USER.
CLI_USER="${REDIS_USER:+--user $REDIS_USER}"
# redis-cli colours --cluster output on terminals; Job logs are plain text.
export TERM=dumb
# TLS (REDIS_TLS=yes): every redis-cli call adds these options; empty without TLS.
TLS_ARGS=""
if [ "${REDIS_TLS:-}" = yes ]; then TLS_ARGS="--tls --cacert ${REDIS_CA_FILE:-/tls/ca.crt}"; fi

log() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${SCRIPT_NAME:-ops}" "$*" >&2; }
die() { log "STOPPED: $*"; exit "${DIE_CODE:-1}"; }

require_env() {
    for _name in "$@"; do
        eval "_value=\${$_name:-}"
        [ -n "$_value" ] || die "environment variable $_name is not set"
    done
}

now_s() { date +%s; }
# Milliseconds since boot (10 ms resolution): busybox date has no %N.
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# cli HOST [PORT] -- ARGS: one short, bounded query; stdout without \r.
cli() {
    _h="$1"
    _p="$REDIS_PORT"
    shift
    if [ "${1:-}" != "--" ]; then _p="$1"; shift; fi
    shift
    timeout "$QUERY_TIMEOUT" redis-cli $CLI_USER $TLS_ARGS --no-auth-warning -h "$_h" -p "$_p" "$@" 2>/dev/null | tr -d '\r'
}

info_field() { cli "$1" -- info "$2" | awk -F: -v k="$3" '$1 == k { print $2 }'; }

# CLUSTER NODES from the first of $1 (space-separated hosts) that answers.
cluster_nodes_from() {
    for _seed in $1; do
        _out=$(cli "$_seed" -- cluster nodes)
        if [ -n "$_out" ]; then
            printf '%s\n' "$_out"
            return 0
        fi
        log "seed $_seed did not answer CLUSTER NODES"
    done
    return 1
}

# From CLUSTER NODES on stdin: "first-slot id host port slot-ranges..." for
# each healthy master that owns slots, ordered by first slot. The host is the
# announced hostname when there is one (pod DNS names survive rescheduling).
masters_by_slot() {
    awk '$3 ~ /(^|,)master(,|$)/ && $3 !~ /fail|handshake|noaddr/ && NF >= 9 {
        split($2, a, ","); at = index(a[1], "@"); addr = substr(a[1], 1, at - 1)
        c = 0; for (i = length(addr); i > 0; i--) if (substr(addr, i, 1) == ":") { c = i; break }
        host = (a[2] != "") ? a[2] : substr(addr, 1, c - 1); port = substr(addr, c + 1)
        ranges = ""; first = -1
        for (i = 9; i <= NF; i++) {
            if ($i ~ /^\[/) continue
            split($i, r, "-"); if (first < 0 || r[1] + 0 < first) first = r[1] + 0
            ranges = ranges " " $i
        }
        if (first >= 0) print first, $1, host, port ranges
    }' | sort -n
}

# From CLUSTER NODES on stdin: "id host port master-id" of healthy replicas.
replicas_list() {
    awk '$3 ~ /(^|,)slave(,|$)/ && $3 !~ /fail|handshake|noaddr/ {
        split($2, a, ","); at = index(a[1], "@"); addr = substr(a[1], 1, at - 1)
        c = 0; for (i = length(addr); i > 0; i--) if (substr(addr, i, 1) == ":") { c = i; break }
        host = (a[2] != "") ? a[2] : substr(addr, 1, c - 1)
        print $1, host, substr(addr, c + 1), $4
    }'
}

# "host port" of the master most of $SENTINEL_HOSTS name for $MASTER_SET.
SENTINEL_PORT="${SENTINEL_PORT:-26379}"
sentinel_master() {
    for _s in $SENTINEL_HOSTS; do
        cli "$_s" "$SENTINEL_PORT" -- sentinel get-master-addr-by-name "$MASTER_SET" | awk 'NR == 1 { h = $0 } NR == 2 { print h, $0 }'
    done | sort | uniq -c | sort -rn | awk 'NR == 1 && $3 ~ /^[0-9]+$/ { print $2, $3 }'
}

# Redis config/command string quoting for lines fed to redis-cli on stdin.
quote() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$/"/'; }

# Migration steps: is a host in the old or the new generation's node list?
is_new() { for _n in $NEW_NODES; do [ "$_n" = "$1" ] && return 0; done; return 1; }
is_old() { for _n in $OLD_NODES; do [ "$_n" = "$1" ] && return 0; done; return 1; }

# until_true WHAT CMD...: run CMD each second until it succeeds, at most
# WAIT_TIMEOUT seconds; then die naming WHAT (and WHY, when a step set it).
until_true() {
    _what="$1"
    shift
    _deadline=$(($(now_s) + WAIT_TIMEOUT))
    until "$@"; do
        [ "$(now_s)" -lt "$_deadline" ] || die "$_what did not happen within ${WAIT_TIMEOUT}s${WHY:+ ($WHY)}"
        sleep 1
    done
}
