#!/bin/sh
# Restore Job, second step (main container, redis image):
#   sh /scripts/restore.sh
# Restores the snapshots in RESTORE_DIR (shard-N.rdb, from backup-download.sh)
# into a running deployment, whatever its current layout: each snapshot is
# loaded into a temporary redis-server on this pod's loopback and its keys
# are moved with MIGRATE COPY to whichever node now owns them
# (redis-cli --cluster import for Redis Cluster; MIGRATE to the master the
# Sentinels name for Sentinel mode).
#
# Existing keys are never overwritten unless REPLACE=yes: without it, every
# key of the backup is first checked against the target and, if any already
# exists, the restore stops before writing anything.
#
# Environment:
#   MODE            cluster | sentinel                      (required)
#   RESTORE_DIR     the downloaded snapshots                (required)
#   REDISCLI_AUTH   the target's password                   (required)
#   CLUSTER_NODES   cluster: space-separated node hosts
#   SENTINEL_HOSTS, MASTER_SET   sentinel: how to find the master
#   REPLACE         yes to overwrite existing keys (default no)
#   TEMP_HOST, TEMP_PORT   the temporary server (127.0.0.1, 6390)
#   LOAD_TIMEOUT    seconds to load one snapshot (600); MIGRATE_TIMEOUT_MS (10000)
#   REDIS_PORT (6379), SENTINEL_PORT (26379), REDIS_SERVER_BIN (redis-server)
#   REDIS_TLS, REDIS_CA_FILE, REDIS_CERT_FILE, REDIS_KEY_FILE   TLS on (see temp_ports)
set -eu
SCRIPT_NAME=restore
. "$(dirname "$0")/ops-lib.sh"

require_env MODE RESTORE_DIR REDISCLI_AUTH
REPLACE="${REPLACE:-no}"
TEMP_HOST="${TEMP_HOST:-127.0.0.1}"
TEMP_PORT="${TEMP_PORT:-6390}"
LOAD_TIMEOUT="${LOAD_TIMEOUT:-600}"
MIGRATE_TIMEOUT_MS="${MIGRATE_TIMEOUT_MS:-10000}"
REDIS_SERVER_BIN="${REDIS_SERVER_BIN:-redis-server}"
# The temporary server has no password and binds loopback only; redis-cli
# must not send it the target's.
TARGET_AUTH="$REDISCLI_AUTH"
export REDISCLI_HISTFILE=/dev/null
work="$RESTORE_DIR/.work"
mkdir -p "$work"
case "$REPLACE" in yes | no) ;; *) die "REPLACE must be yes or no, got '$REPLACE'" ;; esac

set +f
set -- "$RESTORE_DIR"/shard-*.rdb
set -f
[ -f "$1" ] || die "no shard-*.rdb in $RESTORE_DIR"
snapshots="$*"

# Target nodes to check and write to: "host port" per master.
case "$MODE" in
    cluster)
        require_env CLUSTER_NODES
        targets=$(cluster_nodes_from "$CLUSTER_NODES" | masters_by_slot | awk '{ print $3, $4 }') || true
        [ -n "$targets" ] || die "no master answered among $CLUSTER_NODES"
        ;;
    sentinel)
        require_env SENTINEL_HOSTS MASTER_SET
        targets=$(sentinel_master)
        [ -n "$targets" ] || die "no sentinel named a master for $MASTER_SET"
        ;;
    *) die "MODE must be cluster or sentinel, got '$MODE'" ;;
esac
log "target masters: $(printf '%s\n' "$targets" | awk '{ printf "%s%s:%s", (NR > 1 ? ", " : ""), $1, $2 }')"

temp_pid=""
temp_cli() { timeout "$QUERY_TIMEOUT" env -u REDISCLI_AUTH redis-cli -h "$TEMP_HOST" -p "$TEMP_PORT" "$@" 2>/dev/null | tr -d '\r'; }
stop_temp() {
    if [ -n "$temp_pid" ]; then
        temp_cli shutdown nosave >/dev/null || true
        wait "$temp_pid" 2>/dev/null || true
        temp_pid=""
    fi
}
trap stop_temp EXIT

# With TLS the temporary server still listens in plain text on loopback
# (redis-cli --cluster import connects to its source without TLS), but its
# own connections to the target (MIGRATE) use TLS: Redis does so when
# tls-cluster is on, which needs the deployment's certificate and key.
temp_ports() {
    if [ -n "$TLS_ARGS" ]; then
        echo "--port $TEMP_PORT --tls-cert-file ${REDIS_CERT_FILE:-/tls/tls.crt} --tls-key-file ${REDIS_KEY_FILE:-/tls/tls.key}" \
            "--tls-ca-cert-file ${REDIS_CA_FILE:-/tls/ca.crt} --tls-cluster yes"
    else
        echo "--port $TEMP_PORT"
    fi
}

# Loads snapshot $1 into the temporary server and waits until it serves.
start_temp() {
    stop_temp
    "$REDIS_SERVER_BIN" --bind "$TEMP_HOST" $(temp_ports) --dir "$(dirname "$1")" --dbfilename "$(basename "$1")" \
        --appendonly no --save "" --daemonize no --protected-mode no --logfile "$work/temp-redis.log" &
    temp_pid=$!
    deadline=$(($(now_s) + LOAD_TIMEOUT))
    until [ "$(temp_cli ping)" = "PONG" ]; do
        kill -0 "$temp_pid" 2>/dev/null || { cat "$work/temp-redis.log" >&2; die "the temporary server could not load $1"; }
        [ "$(now_s)" -lt "$deadline" ] || die "$1 did not load within ${LOAD_TIMEOUT}s"
        sleep 0.2
    done
}

target_keys() { REDISCLI_AUTH="$TARGET_AUTH" cli "$1" "$2" -- dbsize; }

existing=0
while read -r host port; do
    n=$(target_keys "$host" "$port")
    case "$n" in '' | *[!0-9]*) die "master $host:$port did not answer DBSIZE" ;; esac
    existing=$((existing + n))
done <<EOF_TARGETS
$targets
EOF_TARGETS
log "the target holds $existing key(s) now; REPLACE=$REPLACE"

# Phase 1: without REPLACE, find keys of the backup that already exist.
if [ "$REPLACE" = "no" ] && [ "$existing" -gt 0 ]; then
    : >"$work/target-keys"
    while read -r host port; do
        REDISCLI_AUTH="$TARGET_AUTH" timeout "$LOAD_TIMEOUT" redis-cli $CLI_USER $TLS_ARGS --no-auth-warning -h "$host" -p "$port" --scan --no-raw \
            >>"$work/target-keys" || die "listing the keys of $host:$port failed"
    done <<EOF_TARGETS
$targets
EOF_TARGETS
    : >"$work/backup-keys"
    for snap in $snapshots; do
        start_temp "$snap"
        timeout "$LOAD_TIMEOUT" env -u REDISCLI_AUTH redis-cli -h "$TEMP_HOST" -p "$TEMP_PORT" --scan --no-raw >>"$work/backup-keys" \
            || die "listing the keys of $snap failed"
    done
    stop_temp
    awk 'NR == FNR { t[$0] = 1; next } ($0 in t)' "$work/target-keys" "$work/backup-keys" >"$work/conflicts"
    conflicts=$(wc -l <"$work/conflicts" | tr -d ' ')
    if [ "$conflicts" -gt 0 ]; then
        log "$conflicts key(s) of the backup already exist in the target, for example: $(head -n 3 "$work/conflicts" | tr '\n' ' ')"
        DIE_CODE=3 die "refusing to overwrite existing keys; nothing was written. Run again with REPLACE=yes to overwrite them."
    fi
    log "no key of the backup exists in the target"
fi

copy_flags="COPY"
[ "$REPLACE" = "yes" ] && copy_flags="COPY REPLACE"

# Phase 2: import each snapshot.
total=0
for snap in $snapshots; do
    start_temp "$snap"
    keys=$(temp_cli dbsize)
    log "$(basename "$snap"): $keys key(s) to restore"
    if [ "$keys" -gt 0 ]; then
        if [ "$MODE" = "cluster" ]; then
            set -- $targets
            flags="--cluster-copy"
            [ "$REPLACE" = "yes" ] && flags="$flags --cluster-replace"
            REDISCLI_AUTH="$TARGET_AUTH" redis-cli $CLI_USER $TLS_ARGS --no-auth-warning --cluster import "$1:$2" \
                --cluster-from "$TEMP_HOST:$TEMP_PORT" $flags >"$work/import.log" 2>&1 || true
            moved=$(grep -c ': OK$' "$work/import.log" || true)
        else
            set -- $targets
            pw=$(quote "$TARGET_AUTH")
            timeout "$LOAD_TIMEOUT" env -u REDISCLI_AUTH redis-cli -h "$TEMP_HOST" -p "$TEMP_PORT" --scan --no-raw >"$work/keys"
            # 100 keys per MIGRATE; lines go to redis-cli on stdin, so the
            # password is never in a process's arguments.
            # With an ACL user, MIGRATE logs in as that user (AUTH2).
            auth="AUTH $pw"
            [ -z "${REDIS_USER:-}" ] || auth="AUTH2 $REDIS_USER $pw"
            awk -v h="$1" -v p="$2" -v t="$MIGRATE_TIMEOUT_MS" -v f="$copy_flags" -v auth="$auth" '
                { keys = keys " " $0; n++ }
                n == 100 { print "MIGRATE " h " " p " \"\" 0 " t " " f " " auth " KEYS" keys; keys = ""; n = 0 }
                END { if (n > 0) print "MIGRATE " h " " p " \"\" 0 " t " " f " " auth " KEYS" keys }' "$work/keys" |
                env -u REDISCLI_AUTH redis-cli -h "$TEMP_HOST" -p "$TEMP_PORT" >"$work/import.log" 2>&1 || true
            if grep -qv '^OK$' "$work/import.log"; then
                moved=0
            else
                moved=$keys
            fi
        fi
        if [ "$moved" -ne "$keys" ]; then
            grep -v ': OK$' "$work/import.log" | grep -v '^OK$' | tail -n 20 >&2 || true
            die "$(basename "$snap"): only $moved of $keys key(s) were restored"
        fi
    fi
    log "$(basename "$snap"): restored $keys key(s)"
    total=$((total + keys))
done
stop_temp
rm -rf "$work"
log "restore done: $total key(s) restored from $(set -- $snapshots; echo $#) snapshot(s)"
echo "keys restored: $total"
