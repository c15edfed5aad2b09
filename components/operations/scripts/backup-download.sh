#!/bin/sh
# Restore Job, first step (init container, aws-cli image):
#   sh /scripts/backup-download.sh
# Downloads one complete backup (one with a manifest.json) into RESTORE_DIR.
#
# Environment:
#   BACKUP_PATH   <deployment>/<YYYY-MM-DD>/<backup id> as the backup logged it,
#                 or "latest" for the newest complete backup of DEPLOYMENT
#   DEPLOYMENT    the deployment whose backups "latest" looks at
#   RESTORE_DIR   where the files go (required)
#   and the s3-lib.sh variables (BUCKET, PREFIX, S3_ENDPOINT, AWS_CLI, S3_TIMEOUT).
set -eu
SCRIPT_NAME=backup-download
. "$(dirname "$0")/s3-lib.sh"

require_env BUCKET RESTORE_DIR
[ -n "${BACKUP_PATH:-}" ] || die "BACKUP_PATH is not set (a backup's <deployment>/<date>/<id>, or latest)"
mkdir -p "$RESTORE_DIR"

if [ "$BACKUP_PATH" = "latest" ]; then
    [ -n "${DEPLOYMENT:-}" ] || die "BACKUP_PATH=latest needs DEPLOYMENT"
    root="$(s3_uri "$DEPLOYMENT/")"
    log "looking for the newest complete backup under $root"
    # Keys are <prefix>/<dep>/<YYYY-MM-DD>/<YYYYmmddTHHMMSSZ>/manifest.json: they sort by time.
    newest=$(s3 ls --recursive "$root" | awk '$4 ~ /\/manifest\.json$/ { print $4 }' | sort | tail -n 1)
    [ -n "$newest" ] || die "no complete backup (none with a manifest.json) under $root"
    p="${PREFIX:-}"
    p="${p#/}"
    p="${p%/}"
    newest="${newest%/manifest.json}"
    BACKUP_PATH="${newest#"$p"/}"
    log "newest backup is $BACKUP_PATH"
fi

src="$(s3_uri "$BACKUP_PATH")"
log "downloading $src/ into $RESTORE_DIR"
s3 cp --only-show-errors "$src/manifest.json" "$RESTORE_DIR/manifest.json" || die "$src/manifest.json not found: not a complete backup"
s3 cp --only-show-errors --recursive --exclude "*" --include "shard-*.rdb" "$src/" "$RESTORE_DIR/" || die "download of the snapshots failed"
count=$(find "$RESTORE_DIR" -maxdepth 1 -name 'shard-*.rdb' | wc -l | tr -d ' ')
[ "$count" -gt 0 ] || die "the backup at $src/ holds no snapshot"
log "downloaded $count snapshot(s) and manifest.json"
