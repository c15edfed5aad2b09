#!/bin/sh
# Start a Sentinel.
#
# Sentinel rewrites its config file (current master, epochs, peers), so the
# read-only rendered sentinel.conf is copied into a writable dir first. That
# dir must be a medium: Memory emptyDir: the secret lines appended here (and
# Sentinel's own rewrites of them) must not reach a disk. A copy left by an
# earlier run of this container in the same pod is kept, because it holds the
# Sentinel's current view and epoch; only its secret and announce lines are
# replaced.
#
# Environment (required): REDIS_USER and REDISCLI_AUTH (the admin ACL user
# and its password, to ask the other Sentinels and the data nodes),
# SENTINEL_USERS_ACL (this Sentinel's users, `user <name> on <rules>` lines
# without passwords), ACL_DIR (one password file per user; the `sentinel`
# user's is also how this Sentinel logs in to the data nodes and its peers).
# Required for a new pod: SENTINEL_HOSTS (every Sentinel's stable name),
# REDIS_HOSTS (every data pod's stable name).
# Optional: SENTINEL_ANNOUNCE_HOST (this pod's stable DNS name),
# SENTINEL_CONF_SRC (/usr/local/etc/sentinel/sentinel.conf), SENTINEL_WORK_DIR
# (/run/sentinel), SENTINEL_BIN (redis-sentinel), REDIS_PORT (6379),
# SENTINEL_START_WAIT (seconds, 45: below the liveness probe's budget),
# SENTINEL_QUERY_INTERVAL (2); REDIS_TLS, REDIS_CA_FILE, REDIS_CERT_FILE,
# REDIS_KEY_FILE, POD_NAME (TLS on).
set -eu

SCRIPT_NAME=sentinel-start
. "$(dirname "$0")/sentinel-lib.sh"
# A pod of an earlier release mounts only the keys it listed, and runs this
# text if its container restarts before the roll reaches it.
[ -r "$(dirname "$0")/acl-lib.sh" ] || die "acl-lib.sh is not mounted here: this pod still has the template of an earlier release; the rolling update replaces it"
. "$(dirname "$0")/acl-lib.sh"

require_env REDISCLI_AUTH SENTINEL_USERS_ACL
acl_check_passwords "$SENTINEL_USERS_ACL" sentinel
SENTINEL_CONF_SRC="${SENTINEL_CONF_SRC:-/usr/local/etc/sentinel/sentinel.conf}"
SENTINEL_WORK_DIR="${SENTINEL_WORK_DIR:-/run/sentinel}"
SENTINEL_BIN="${SENTINEL_BIN:-redis-sentinel}"
conf="$SENTINEL_WORK_DIR/sentinel.conf"

[ -r "$SENTINEL_CONF_SRC" ] || die "cannot read $SENTINEL_CONF_SRC"
master_set=$(awk '$1 == "sentinel" && $2 == "monitor" { print $3; exit }' "$SENTINEL_CONF_SRC")
[ -n "$master_set" ] || die "$SENTINEL_CONF_SRC has no 'sentinel monitor' line"

umask 077
mkdir -p "$SENTINEL_WORK_DIR"
MASTER_SET="${MASTER_SET:-$master_set}"
REDIS_PORT="${REDIS_PORT:-6379}"
SENTINEL_START_WAIT="${SENTINEL_START_WAIT:-45}"
SENTINEL_QUERY_INTERVAL="${SENTINEL_QUERY_INTERVAL:-2}"

# Prints "host port" of the data node that says role:master, or nothing.
data_master() {
    for _h in $REDIS_HOSTS; do
        set -- $(node_view "$_h" "$REDIS_PORT")
        [ "${1:-}" != master ] || echo "$4 $3 $_h $REDIS_PORT"
    done | sort -k1,1nr -k2,2nr | awk 'NR == 1 { print $3, $4 }'
}

derive_master() {
    SENTINEL_SKIP="${SENTINEL_ANNOUNCE_HOST:-}"
    _deadline=$(($(now) + SENTINEL_START_WAIT))
    WAIT_SAID=""
    while :; do
        set -- $(sentinels_majority_master)
        if [ "$#" -eq 3 ]; then
            log "a majority of the sentinels names $2:$3 as master"
            echo "$2 $3"
            return 0
        fi
        # Without a majority of Sentinels (a minority that started first
        # does not count), the running master itself is the evidence.
        _m=$(data_master)
        if [ -n "$_m" ]; then
            log "no majority of the other sentinels names a master ($1 name one); data node ${_m% *} says role:master"
            echo "$_m"
            return 0
        fi
        _why="no majority of the other sentinels names a master ($1 name one) and no data node is master yet; waiting"
        wait_pass "$_why" "$_deadline" || die "no master known after ${SENTINEL_START_WAIT}s; exiting so the container starts again and asks again"
    done
}

if [ -s "$conf" ]; then
    log "keeping the sentinel state already in $conf"
else
    require_env SENTINEL_HOSTS REDIS_HOSTS
    master=$(derive_master)
    log "monitoring $master (the master in $SENTINEL_CONF_SRC is only a placeholder)"
    awk -v host="${master% *}" -v port="${master#* }" '
        $1 == "sentinel" && $2 == "monitor" { $4 = host; $5 = port }
        { print }' "$SENTINEL_CONF_SRC" >"$conf.tmp"
    mv "$conf.tmp" "$conf"
fi

tmp="$conf.tmp"
# Sentinel's own rewrite keeps the users (with password hashes) and the
# logins; drop them all and add them again, so rotated passwords and changed
# rules take effect.
grep -v -e '^requirepass ' -e '^user ' -e '^sentinel auth-pass ' -e '^sentinel auth-user ' \
    -e '^sentinel sentinel-user ' -e '^sentinel sentinel-pass ' -e '^sentinel announce-ip ' \
    "$conf" >"$tmp" || true
{
    # Nobody logs in as `default` (resetpass: not even nopass).
    echo "user default off resetpass resetkeys resetchannels -@all"
    acl_user_lines "$SENTINEL_USERS_ACL"
    # How this Sentinel logs in to the data nodes and to its peers.
    printf 'sentinel auth-user %s sentinel\n' "$master_set"
    printf 'sentinel auth-pass %s %s\n' "$master_set" "$(acl_quoted_password sentinel)"
    echo "sentinel sentinel-user sentinel"
    printf 'sentinel sentinel-pass %s\n' "$(acl_quoted_password sentinel)"
    if [ -n "${SENTINEL_ANNOUNCE_HOST:-}" ]; then
        echo "sentinel announce-ip $SENTINEL_ANNOUNCE_HOST"
    fi
} >>"$tmp"
mv "$tmp" "$conf"

if [ "${REDIS_TLS:-}" = yes ]; then
    # Sentinel cannot reload a certificate: the loop restarts it, staggered
    # by ordinal, when the files change (see redis-tls-reload.sh).
    log "TLS on: starting redis-tls-reload.sh: it restarts this Sentinel when its certificate is renewed"
    REDIS_PID=$$ TLS_RELOAD_MODE=restart sh "$(dirname "$0")/redis-tls-reload.sh" &
fi
log "starting sentinel for master set $master_set"
exec "$SENTINEL_BIN" "$conf"
