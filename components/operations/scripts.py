"""Pod scripts of backups, restores, failover drills and node-group
migrations, shipped as real .sh files in ``scripts/``.

Pure: no Pulumi import. ``ops_scripts()`` is the ConfigMap data (file name ->
text) mounted at ``SCRIPTS_DIR`` with defaultMode 0555; scripts source
``ops-lib.sh`` (redis image) or ``s3-lib.sh`` (aws-cli image) from their own
directory, so every file goes in the one mount.

Which image runs what:
  redis image (sh, busybox, redis-cli, redis-server, redis-check-rdb):
    backup-snapshot.sh, restore.sh, failover-drill.sh, migrate.sh (Redis
    Cluster), migrate-sentinel.sh (Sentinel mode)
  aws-cli image (sh, coreutils, aws):
    backup-upload.sh, backup-download.sh, backup-prestop.sh, backup-agent.sh,
    backup-metrics.sh
Each script's header lists the environment it reads.
"""

from __future__ import annotations

from pathlib import Path

from components.common.script_bundle import ScriptBundle

OPS_LIB = "ops-lib.sh"
S3_LIB = "s3-lib.sh"
SNAPSHOT = "backup-snapshot.sh"
UPLOAD = "backup-upload.sh"
DOWNLOAD = "backup-download.sh"
RESTORE = "restore.sh"
PRESTOP = "backup-prestop.sh"
AGENT = "backup-agent.sh"
DRILL = "failover-drill.sh"
MIGRATE = "migrate.sh"
MIGRATE_SENTINEL = "migrate-sentinel.sh"
# Run by backup-upload.sh after a complete upload: the outcome to the Pushgateway.
METRICS = "backup-metrics.sh"
SCRIPT_NAMES = (OPS_LIB, S3_LIB, SNAPSHOT, UPLOAD, DOWNLOAD, RESTORE, PRESTOP, AGENT, DRILL, MIGRATE, MIGRATE_SENTINEL,
                METRICS)
# The Pushgateway job the backup outcome is pushed under (rules/backup.py reads it).
PUSH_JOB = "redis-backup"

_BUNDLE = ScriptBundle(Path(__file__).with_name("scripts"), SCRIPT_NAMES, "ops")
script_path = _BUNDLE.path
ops_scripts = _BUNDLE.data
pod_command = _BUNDLE.command
