"""How old a deployment's last successful backup may get before
RedisBackupStale: the longest gap of its cron schedule plus a run's time."""

from __future__ import annotations

import pytest
import yaml

from stacks.cron import max_gap_seconds
from stacks.monitoring import BACKUP_RUN_GRACE_SECONDS
from tests.unit.conftest import BASE_CONFIG, run_with

H = 3600


@pytest.mark.parametrize("schedule, gap", [
    ("0 3 * * *", 24 * H), ("@daily", 24 * H), ("*/15 * * * *", 900), ("0 */6 * * *", 6 * H),
    ("30 2,14 * * *", 12 * H), ("@hourly", H), ("@weekly", 168 * H),
    # Weekdays only: Friday's run to Monday's is the longest wait.
    ("0 3 * * 1-5", 72 * H),
    # Cron ORs the two day fields when both are set: the 1st or any Sunday.
    ("0 0 1 * 0", 7 * 24 * H),
])
def test_longest_gap_of_a_schedule(schedule, gap):
    assert max_gap_seconds(schedule) == gap


def _stale_rule(run) -> str | None:
    [cm] = run.k8s("ConfigMap", "prometheus-rules")
    groups = yaml.safe_load(cm["data"]["backup.yml"])["groups"]
    rules = [r for g in groups for r in g["rules"] if r.get("alert") == "RedisBackupStale"]
    return rules[0]["expr"] if rules else None


def test_each_backed_up_deployment_gets_its_own_maximum_age():
    run = run_with(BASE_CONFIG | {
        "backup": {"kind": "s3", "endpoint": "https://s3.example.com", "bucketName": "redis-backups",
                   "credentialsSecret": "s3-creds", "schedule": "0 3 * * *"},
        "deployments": [
            {"name": "orders", "team": "checkout", "mode": "cluster", "size": "small"},
            {"name": "sessions", "team": "web", "mode": "sentinel", "size": "small",
             "backup": {"schedule": "0 */6 * * *"}},
            {"name": "scratch", "team": "web", "mode": "cluster", "size": "small", "backup": {"enabled": False}},
        ],
    })
    expr = _stale_rule(run)
    assert f'{{deployment="orders"}} > {24 * H + BACKUP_RUN_GRACE_SECONDS})' in expr
    assert f'{{deployment="sessions"}} > {6 * H + BACKUP_RUN_GRACE_SECONDS})' in expr
    assert "scratch" not in expr


def test_no_backup_no_backup_alert():
    run = run_with(BASE_CONFIG | {"deployments": [{"name": "orders", "team": "checkout", "mode": "cluster",
                                                   "size": "small"}]})
    assert _stale_rule(run) is None
