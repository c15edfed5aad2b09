# Functions shared by the Sentinel-mode pod scripts. Sourced, not run.
# POSIX sh: runs under busybox sh (redis:7.2-alpine) and Debian's dash.
#
# Reads: REDIS_PASSWORD, MASTER_SET, SENTINEL_HOSTS (space-separated),
# SENTINEL_PORT (default 26379), SENTINEL_QUERY_TIMEOUT (seconds per
# Sentinel, default 2).

SENTINEL_PORT="${SENTINEL_PORT:-26379}"
SENTINEL_QUERY_TIMEOUT="${SENTINEL_QUERY_TIMEOUT:-2}"

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

# redis-cli takes the password from REDISCLI_AUTH, never from its arguments.
redis_cmd() {
    _host="$1"
    _port="$2"
    shift 2
    REDISCLI_AUTH="$REDIS_PASSWORD" timeout "$SENTINEL_QUERY_TIMEOUT" \
        redis-cli --no-auth-warning -h "$_host" -p "$_port" "$@" 2>/dev/null
}

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
