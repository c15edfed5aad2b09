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
# Environment (required): REDIS_PASSWORD (used both to authenticate to the
# Redis nodes and as this Sentinel's own requirepass).
# Optional: SENTINEL_ANNOUNCE_HOST (this pod's stable DNS name),
# SENTINEL_CONF_SRC (/usr/local/etc/sentinel/sentinel.conf), SENTINEL_WORK_DIR
# (/run/sentinel), SENTINEL_BIN (redis-sentinel).
set -eu

SCRIPT_NAME=sentinel-start
. "$(dirname "$0")/sentinel-lib.sh"

require_env REDIS_PASSWORD
SENTINEL_CONF_SRC="${SENTINEL_CONF_SRC:-/usr/local/etc/sentinel/sentinel.conf}"
SENTINEL_WORK_DIR="${SENTINEL_WORK_DIR:-/run/sentinel}"
SENTINEL_BIN="${SENTINEL_BIN:-redis-sentinel}"
conf="$SENTINEL_WORK_DIR/sentinel.conf"

[ -r "$SENTINEL_CONF_SRC" ] || die "cannot read $SENTINEL_CONF_SRC"
master_set=$(awk '$1 == "sentinel" && $2 == "monitor" { print $3; exit }' "$SENTINEL_CONF_SRC")
[ -n "$master_set" ] || die "$SENTINEL_CONF_SRC has no 'sentinel monitor' line"

umask 077
mkdir -p "$SENTINEL_WORK_DIR"
if [ -s "$conf" ]; then
    log "keeping the sentinel state already in $conf"
else
    log "copying $SENTINEL_CONF_SRC to $conf"
    cp "$SENTINEL_CONF_SRC" "$conf"
fi

quoted_password=$(printf '%s' "$REDIS_PASSWORD" | sed 's/\\/\\\\/g; s/"/\\"/g')
tmp="$conf.tmp"
# Sentinel's own rewrite turns requirepass into a `user default` line with
# the password's hash; drop it too, so a rotated password takes effect.
grep -v -e '^requirepass ' -e '^user default ' -e '^sentinel auth-pass ' -e '^sentinel announce-ip ' \
    "$conf" >"$tmp" || true
{
    printf 'requirepass "%s"\n' "$quoted_password"
    printf 'sentinel auth-pass %s "%s"\n' "$master_set" "$quoted_password"
    if [ -n "${SENTINEL_ANNOUNCE_HOST:-}" ]; then
        echo "sentinel announce-ip $SENTINEL_ANNOUNCE_HOST"
    fi
} >>"$tmp"
mv "$tmp" "$conf"

log "starting sentinel for master set $master_set"
exec "$SENTINEL_BIN" "$conf"
