#!/bin/sh
# Sidecar of the Prometheus pod (same prom/prometheus image: busybox sh,
# md5sum, wget and promtool are in it). When the mounted config or rule files
# change (the kubelet updates ConfigMap volumes in place), it checks them with
# promtool and only then asks Prometheus to reload. A config promtool rejects
# is logged and not loaded; Prometheus keeps running the previous one.
#
# Environment: CONFIG_FILE, WATCH_DIRS (space-separated), RELOAD_URL,
# INTERVAL_SECONDS (default 10).
set -u
INTERVAL_SECONDS="${INTERVAL_SECONDS:-10}"
log() { printf '%s config-reloader: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

checksum() {
    # shellcheck disable=SC2086 # WATCH_DIRS is a list
    find $WATCH_DIRS -type f ! -path '*/..*' 2>/dev/null | sort | xargs md5sum 2>/dev/null | md5sum
}

last="$(checksum)"
log "watching $WATCH_DIRS every ${INTERVAL_SECONDS}s"
while :; do
    touch /tmp/heartbeat
    sleep "$INTERVAL_SECONDS"
    now="$(checksum)"
    [ "$now" = "$last" ] && continue
    if ! promtool check config "$CONFIG_FILE" >/tmp/promtool.out 2>&1; then
        log "new config rejected by promtool; not reloading:"
        cat /tmp/promtool.out
        last="$now"
        continue
    fi
    if wget -q -T 10 -O /dev/null --post-data='' "$RELOAD_URL"; then
        log "config changed and passed promtool; Prometheus reloaded"
        last="$now"
    else
        log "reload request to $RELOAD_URL failed; will retry"
    fi
done
