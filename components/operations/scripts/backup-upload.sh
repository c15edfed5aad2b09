#!/bin/sh
# Backup CronJob, second step (main container, aws-cli image):
#   sh /scripts/backup-upload.sh
# Uploads what backup-snapshot.sh left in OUT_DIR under
# <PREFIX>/<deployment>/<YYYY-MM-DD>/<backup id>/ : every shard-N.rdb first,
# manifest.json last, so a backup with a manifest is a complete backup.
#
# Then reports the outcome to the Pushgateway (backup-metrics.sh), so a run
# that never gets this far leaves the last success time ageing.
#
# Environment: OUT_DIR (required), the s3-lib.sh variables (BUCKET, PREFIX,
# S3_ENDPOINT, AWS_CLI, S3_TIMEOUT, CREDENTIALS_SECRET), and for the report
# PUSHGATEWAY_URL (empty: no report), DEPLOYMENT and TEAM.
set -eu
SCRIPT_NAME=backup-upload
. "$(dirname "$0")/s3-lib.sh"

require_env OUT_DIR BUCKET
[ -s "$OUT_DIR/backup-path" ] || die "no $OUT_DIR/backup-path: the snapshot step did not finish"
[ -s "$OUT_DIR/manifest.json" ] || die "no $OUT_DIR/manifest.json: the snapshot step did not finish"
# The credentials Secret is optional (Redis must start without it): report
# its absence as a metric, then stop.
if ! s3_credentials_ok; then
    sh "$(dirname "$0")/backup-metrics.sh" credentials-missing
    die "no access keys for the object store; nothing uploaded"
fi
path="$(cat "$OUT_DIR/backup-path")"
dest="$(s3_uri "$path")"

count=0
for f in "$OUT_DIR"/shard-*.rdb; do
    [ -f "$f" ] || die "no snapshot files in $OUT_DIR"
    log "uploading $(basename "$f") ($(wc -c <"$f" | tr -d ' ') bytes) to $dest/"
    s3 cp --only-show-errors "$f" "$dest/$(basename "$f")" || die "upload of $(basename "$f") failed"
    count=$((count + 1))
done
log "uploading manifest.json last"
s3 cp --only-show-errors "$OUT_DIR/manifest.json" "$dest/manifest.json" || die "upload of manifest.json failed"
log "backup complete: $count snapshot(s) and manifest.json in $dest/"
BACKUP_STARTED="$(cat "$OUT_DIR/started" 2>/dev/null || date +%s)" sh "$(dirname "$0")/backup-metrics.sh"
