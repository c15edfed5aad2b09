"""The script a backup Job runs last to report its outcome (see
scripts/backup-metrics.sh and rules/backup.py for the series)."""

from __future__ import annotations

from pathlib import Path

SCRIPT_NAME = "backup-metrics.sh"
PUSH_JOB = "redis-backup"


def backup_metrics_script() -> str:
    return (Path(__file__).parent / "scripts" / SCRIPT_NAME).read_text()
