#!/bin/sh
# Last step of a successful backup run: push its outcome to the Pushgateway,
# where components/monitoring/rules/backup.py reads it. Called only after the upload succeeded, so
# a failed or missing run leaves the last success time ageing.
#
#   sh backup-metrics.sh                       after a successful upload
#   sh backup-metrics.sh credentials-missing   the run stops: no access keys
#
# The second form pushes redis_backup_credentials_missing 1 (the credentials
# Secret is optional, so its absence must be visible as more than a log
# line: RedisBackupCredentialsMissing); every success pushes it back to 0.
#
# Environment: PUSHGATEWAY_URL (e.g. http://pushgateway.monitoring.svc:9091;
# empty: nothing is pushed), DEPLOYMENT, TEAM, CREDENTIALS_SECRET (may be
# empty), and for a success BACKUP_STARTED (epoch seconds the run began) and
# OUT_DIR (its snapshot files, shard-*.rdb, are summed).
# A failed push is logged and does not fail the backup: the data is safe,
# and a stale metric then raises the alert it should.
set -u
log() { printf '%s backup-metrics: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

outcome="${1:-success}"
case "$outcome" in
    success) required="DEPLOYMENT TEAM BACKUP_STARTED OUT_DIR" ;;
    credentials-missing) required="DEPLOYMENT TEAM" ;;
    *) log "unknown outcome $outcome; not pushing"; exit 0 ;;
esac
[ -n "${PUSHGATEWAY_URL:-}" ] || { log "PUSHGATEWAY_URL is empty; not pushing"; exit 0; }
for v in $required; do
    eval "[ -n \"\${$v:-}\" ]" || { log "$v is not set; not pushing"; exit 0; }
done

credentials_series() {
    printf '# TYPE redis_backup_credentials_missing gauge\n'
    printf 'redis_backup_credentials_missing{team="%s",secret="%s"} %s\n' "$TEAM" "${CREDENTIALS_SECRET:-}" "$1"
}

now="$(date +%s)"
if [ "$outcome" = credentials-missing ]; then
    body="$(credentials_series 1)"
else
    size=0
    for f in "$OUT_DIR"/shard-*.rdb; do
        [ -f "$f" ] && size=$((size + $(wc -c <"$f" | tr -d ' ')))
    done
    body="$(cat <<METRICS
# TYPE redis_backup_last_success_timestamp_seconds gauge
redis_backup_last_success_timestamp_seconds{team="$TEAM"} $now
# TYPE redis_backup_last_duration_seconds gauge
redis_backup_last_duration_seconds{team="$TEAM"} $((now - BACKUP_STARTED))
# TYPE redis_backup_last_size_bytes gauge
redis_backup_last_size_bytes{team="$TEAM"} $size
$(credentials_series 0)
METRICS
)"
fi
url="$PUSHGATEWAY_URL/metrics/job/redis-backup/deployment/$DEPLOYMENT"
if command -v curl >/dev/null 2>&1; then
    printf '%s\n' "$body" | curl -fsS --max-time 10 --data-binary @- "$url" >/dev/null && pushed=yes || pushed=no
else
    printf '%s\n' "$body" >/tmp/backup-metrics.txt
    # timeout(1), not wget -T: Debian's busybox 1.35 wget crashes on -T
    # together with --post-file.
    timeout 10 wget -q -O /dev/null --post-file=/tmp/backup-metrics.txt "$url" && pushed=yes || pushed=no
fi
if [ "$pushed" = no ]; then
    log "push to $url failed ($outcome not reported)"
elif [ "$outcome" = credentials-missing ]; then
    log "pushed: credentials missing (Secret ${CREDENTIALS_SECRET:-none})"
else
    log "pushed: success at $now, $((now - BACKUP_STARTED))s, $size bytes"
fi
