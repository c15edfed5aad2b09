#!/bin/sh
# preStop hook of the backup sidecar (aws-cli image), as in the seed: when a
# Redis data pod stops, upload its persistence files (RDB, AOF directory,
# nodes.conf) to <PREFIX>/<DEPLOYMENT>/prestop/<POD_NAME>/<time>/.
#   sh /scripts/backup-prestop.sh <budget seconds>
# If HANDOFF_FILE is set, first wait (at most HANDOVER_WAIT seconds) for the
# redis container's own preStop (the Sentinel handover) to create it, so the
# master role has moved before the files are read. The whole hook stays
# within the budget, which the pod's grace period includes.
#
# Environment: DATA_DIR (/data), DEPLOYMENT, POD_NAME (required),
# HANDOFF_FILE, HANDOVER_WAIT (seconds, 0), and the s3-lib.sh variables.
set -eu
SCRIPT_NAME=backup-prestop
. "$(dirname "$0")/s3-lib.sh"

budget="${1:-60}"
DATA_DIR="${DATA_DIR:-/data}"
HANDOVER_WAIT="${HANDOVER_WAIT:-0}"
require_env BUCKET DEPLOYMENT POD_NAME
start=$(date +%s)

if [ -n "${HANDOFF_FILE:-}" ] && [ "$HANDOVER_WAIT" -gt 0 ]; then
    log "waiting up to ${HANDOVER_WAIT}s for the redis container's handover ($HANDOFF_FILE)"
    while [ ! -e "$HANDOFF_FILE" ] && [ $(($(date +%s) - start)) -lt "$HANDOVER_WAIT" ]; do sleep 1; done
    [ -e "$HANDOFF_FILE" ] && log "handover finished" || log "no handover signal; uploading anyway"
fi

left=$((budget - ($(date +%s) - start)))
[ "$left" -gt 5 ] || die "no time left for the upload"
S3_TIMEOUT=$left
dest="$(s3_uri "$DEPLOYMENT/prestop/$POD_NAME/$(date -u +%Y%m%dT%H%M%SZ)")"
count=0
for f in dump.rdb nodes.conf appendonlydir appendonly.aof; do
    [ -e "$DATA_DIR/$f" ] || continue
    if [ -d "$DATA_DIR/$f" ]; then
        log "uploading $f/ to $dest/$f/"
        s3 cp --only-show-errors --recursive "$DATA_DIR/$f" "$dest/$f/" || die "upload of $f failed"
    else
        log "uploading $f to $dest/"
        s3 cp --only-show-errors "$DATA_DIR/$f" "$dest/$f" || die "upload of $f failed"
    fi
    count=$((count + 1))
done
log "uploaded $count item(s) of $DATA_DIR to $dest/ in $(($(date +%s) - start))s"
