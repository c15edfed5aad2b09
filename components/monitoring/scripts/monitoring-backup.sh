#!/bin/sh
# Sidecar of the Prometheus pod and of the Grafana pod (amazon/aws-cli image):
# on the configured schedule it copies that server's data to the object store
# and pushes the outcome to the Pushgateway (rules/monitoring_backup.py reads it).
#
#   KIND=prometheus: asks Prometheus for a TSDB snapshot on the pod's loopback
#     (the admin API is not reachable from outside the pod: the pod's web port
#     is an HAProxy guard that refuses /api/v1/admin/*), uploads the snapshot
#     directory, then the manifest, then removes the snapshot from the volume.
#   KIND=grafana: copies grafana.db while no write transaction is open (the
#     image has no sqlite3: see copy_sqlite), uploads it, then the manifest.
#
# Objects: <PREFIX>/<ENVIRONMENT>/<KIND>/<backup id>/..., manifest.json last,
# so a backup with a manifest is complete.
#
# Environment: KIND, ENVIRONMENT, BUCKET, PREFIX, S3_ENDPOINT (on-prem store;
# empty on AWS), AWS_CLI (default aws), S3_TIMEOUT (seconds, default 1800),
# DATA_DIR (the server's volume), SNAPSHOT_URL (prometheus: the snapshot
# endpoint on loopback), PUSHGATEWAY_URL (empty: nothing is pushed),
# CRON_MINUTE CRON_HOUR CRON_DOM CRON_MONTH CRON_DOW (the schedule expanded to
# comma lists by the program, UTC), CRON_DAY_OR (1: cron's rule when both day
# fields are restricted), RUN_ONCE (1: one backup now, exit with its status),
# SCRATCH_DIR (grafana: where the copy is made, default /tmp).
set -u
AWS_CLI="${AWS_CLI:-aws}"
S3_TIMEOUT="${S3_TIMEOUT:-1800}"
SCRATCH_DIR="${SCRATCH_DIR:-/tmp}"
log() { printf '%s monitoring-backup[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${KIND:-?}" "$*" >&2; }

s3() {
    if [ -n "${S3_ENDPOINT:-}" ]; then
        timeout "$S3_TIMEOUT" "$AWS_CLI" --endpoint-url "$S3_ENDPOINT" s3 "$@"
    else
        timeout "$S3_TIMEOUT" "$AWS_CLI" s3 "$@"
    fi
}

http_post() {
    # $1 url, $2 body file ('' for none); prints the response body.
    if command -v curl >/dev/null 2>&1; then
        if [ -n "$2" ]; then curl -fsS --max-time 300 --data-binary "@$2" "$1"; else curl -fsS --max-time 300 -X POST "$1"; fi
    else
        [ -n "$2" ] || { : >"$SCRATCH_DIR/empty"; set -- "$1" "$SCRATCH_DIR/empty"; }
        timeout 300 wget -q -O - --post-file="$2" "$1"
    fi
}

in_list() { case ",$2," in *",$1,"*) return 0 ;; esac; return 1; }

# Does the current UTC minute match the schedule?
due() {
    set -- $(date -u '+%M %H %d %m %w')
    m=$(( ${1#0} + 0 )); h=$(( ${2#0} + 0 )); d=$(( ${3#0} + 0 )); mo=$(( ${4#0} + 0 )); w=$5
    in_list "$m" "$CRON_MINUTE" && in_list "$h" "$CRON_HOUR" && in_list "$mo" "$CRON_MONTH" || return 1
    if [ "${CRON_DAY_OR:-0}" = 1 ]; then
        in_list "$d" "$CRON_DOM" || in_list "$w" "$CRON_DOW"
    else
        in_list "$d" "$CRON_DOM" && in_list "$w" "$CRON_DOW"
    fi
}

dir_bytes() { find "$1" -type f -exec cat {} + 2>/dev/null | wc -c | tr -d ' '; }

# A consistent copy of an SQLite file without sqlite3. Grafana uses SQLite's
# rollback journal: the main file only changes while <db>-journal exists, and
# every commit moves its mtime. A copy taken with no journal present before
# and after, and the same size and mtime on both sides, saw no write.
copy_sqlite() {
    src="$1"; dst="$2"
    for try in 1 2 3 4 5 6 7 8 9 10; do
        if [ ! -e "$src-journal" ] && [ ! -e "$src-wal" ]; then
            before="$(stat -c '%s %Y %y' "$src")"
            cp "$src" "$dst.part"
            after="$(stat -c '%s %Y %y' "$src")"
            if [ "$before" = "$after" ] && [ ! -e "$src-journal" ] && [ ! -e "$src-wal" ]; then
                mv "$dst.part" "$dst"
                return 0
            fi
        fi
        log "grafana.db is being written (try $try); retrying"
        sleep 1
    done
    rm -f "$dst.part"
    return 1
}

push_metrics() {
    # $1 started (epoch), $2 size in bytes
    [ -n "${PUSHGATEWAY_URL:-}" ] || { log "PUSHGATEWAY_URL is empty; not pushing"; return 0; }
    now="$(date +%s)"
    cat >"$SCRATCH_DIR/metrics.txt" <<METRICS
# TYPE monitoring_backup_last_success_timestamp_seconds gauge
monitoring_backup_last_success_timestamp_seconds $now
# TYPE monitoring_backup_last_duration_seconds gauge
monitoring_backup_last_duration_seconds $((now - $1))
# TYPE monitoring_backup_last_size_bytes gauge
monitoring_backup_last_size_bytes $2
METRICS
    # A failed push does not fail the backup: the data is safe, and the
    # ageing timestamp raises MonitoringBackupStale as it should.
    if http_post "$PUSHGATEWAY_URL/metrics/job/monitoring-backup/component/$KIND" "$SCRATCH_DIR/metrics.txt" >/dev/null; then
        log "pushed: success at $now, $((now - $1))s, $2 bytes"
    else
        log "push to $PUSHGATEWAY_URL failed; the backup itself succeeded"
    fi
}

manifest() {
    # $1 id, $2 bytes, $3 file
    printf '{"kind": "%s", "environment": "%s", "backupId": "%s", "time": "%s", "bytes": %s}\n' \
        "$KIND" "$ENVIRONMENT" "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2" >"$3"
}

# upload_and_finish STARTED ID DEST SIZE WHAT LOCAL REMOTE [cp option...]
# Uploads LOCAL (WHAT in the log) to REMOTE and removes the local copy either
# way (scratch space), then the manifest last, so that a backup with a
# manifest is a complete one, and pushes the outcome.
upload_and_finish() {
    started="$1"; id="$2"; dest="$3"; size="$4"; what="$5"; local_copy="$6"; remote="$7"
    shift 7
    ok=1
    s3 cp "$@" --only-show-errors "$local_copy" "$remote" || ok=0
    rm -rf "$local_copy"
    [ "$ok" = 1 ] || { log "upload of $what failed"; return 1; }
    manifest "$id" "$size" "$SCRATCH_DIR/manifest.json"
    s3 cp --only-show-errors "$SCRATCH_DIR/manifest.json" "$dest/manifest.json" || return 1
    log "uploaded $what ($size bytes) to $dest"
    push_metrics "$started" "$size"
}

backup_prometheus() {
    started="$1"; id="$2"; dest="$3"
    resp="$(http_post "$SNAPSHOT_URL" '')" || { log "snapshot request failed"; return 1; }
    name="$(printf '%s' "$resp" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')"
    [ -n "$name" ] || { log "no snapshot name in: $resp"; return 1; }
    snap="$DATA_DIR/snapshots/$name"
    [ -d "$snap" ] || { log "snapshot $snap is missing"; return 1; }
    # Hard links to the blocks: removing them frees nothing the server still uses.
    upload_and_finish "$started" "$id" "$dest" "$(dir_bytes "$snap")" "snapshot $name" "$snap" "$dest/tsdb/" --recursive
}

backup_grafana() {
    started="$1"; id="$2"; dest="$3"
    copy_sqlite "$DATA_DIR/grafana.db" "$SCRATCH_DIR/grafana.db" || { log "no consistent copy of grafana.db"; return 1; }
    size="$(wc -c <"$SCRATCH_DIR/grafana.db" | tr -d ' ')"
    upload_and_finish "$started" "$id" "$dest" "$size" grafana.db "$SCRATCH_DIR/grafana.db" "$dest/grafana.db"
}

# The keys come from an optional Secret (CREDENTIALS_SECRET names it) so that
# a missing one never keeps Prometheus or Grafana from starting; say so by
# name, and let the upload fail (MonitoringBackupStale follows).
credentials_missing() {
    [ -n "${CREDENTIALS_SECRET:-}" ] && { [ -z "${AWS_ACCESS_KEY_ID:-}" ] || [ -z "${AWS_SECRET_ACCESS_KEY:-}" ]; }
}

run_backup() {
    if credentials_missing; then
        log "BACKUP DISABLED: Secret $CREDENTIALS_SECRET (access keys of the object store) is missing or incomplete in this namespace"
        return 1
    fi
    started="$(date +%s)"
    id="$(date -u +%Y%m%dT%H%M%SZ)"
    p="${PREFIX#/}"; p="${p%/}"
    dest="s3://$BUCKET/${p:+$p/}$ENVIRONMENT/$KIND/$id"
    case "$KIND" in
        prometheus) backup_prometheus "$started" "$id" "$dest" ;;
        grafana) backup_grafana "$started" "$id" "$dest" ;;
        *) log "unknown KIND $KIND"; return 2 ;;
    esac
}

if [ "${RUN_ONCE:-0}" = 1 ]; then
    run_backup
    exit $?
fi

log "waiting for the schedule (minute $CRON_MINUTE, hour $CRON_HOUR, UTC)"
last=""
while :; do
    touch "$SCRATCH_DIR/heartbeat"
    stamp="$(date -u +%Y%m%d%H%M)"
    if [ "$stamp" != "$last" ] && due; then
        last="$stamp"
        run_backup || log "backup FAILED; the next scheduled run tries again"
    fi
    sleep 20
done
