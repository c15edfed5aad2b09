"""Sentinel-mode pod scripts under dash, with the server binary replaced by a
stub that records its arguments, so the decisions can be read from files."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from components.redis.sentinel_conf import SentinelConfSpec, SentinelFailover, render_sentinel_conf
from components.redis.sentinel_scripts import REDIS_PRESTOP, REDIS_START, SENTINEL_START
from tests.integration.procs import require, wait_for
from tests.integration.sentinel.harness import POD_SHELL, run_script

pytestmark = pytest.mark.integration

# Nothing listens here (the one address of this area's range that no test
# serves on), so every query is refused at once.
SILENT = "127.0.0.89"
SILENT_SENTINELS = f"{SILENT} {SILENT}"
PASSWORD = 'pa"ss\\word'
USERS = "user admin on ~* &* +@all\nuser replication on -@all +psync +replconf +ping\n"
SENTINEL_USERS = "user admin on &* +@all\nuser sentinel on -@all +ping\n"


def _acl(tmp: Path, passwords: dict[str, str]) -> dict[str, str]:
    """users files and password files as the ConfigMap and Secrets give them."""
    (tmp / "users.acl").write_text(USERS)
    (tmp / "sentinel-users.acl").write_text(SENTINEL_USERS)
    acl = tmp / "acl"
    acl.mkdir(exist_ok=True)
    for user, password in passwords.items():
        (acl / user).write_text(password)
    return {"USERS_ACL": str(tmp / "users.acl"), "SENTINEL_USERS_ACL": str(tmp / "sentinel-users.acl"),
            "ACL_DIR": str(acl), "REDIS_USER": "admin", "REDISCLI_AUTH": passwords.get("admin", "x")}


def _stub(tmp: Path) -> Path:
    stub = tmp / "stub-server"
    stub.write_text(f'#!/bin/sh\necho "$@" > {tmp}/argv\n')
    stub.chmod(0o755)
    return stub


def _start_env(tmp: Path, me: str) -> dict[str, str]:
    return {
        **_acl(tmp, {"admin": "admin-pw", "replication": PASSWORD}),
        "MASTER_SET": "main",
        "REDIS_ANNOUNCE_HOST": me,
        "REDIS_HOSTS": f"redis-0.redis-headless {me}",
        "SENTINEL_HOSTS": SILENT_SENTINELS,
        "REDIS_CONF": str(tmp / "redis.conf"),
        "RUNTIME_CONF": str(tmp / "run" / "runtime.conf"),
        "REPL_STATE_FILE": str(tmp / "replication-state"),
        "LOCAL_REDIS_HOST": SILENT,
        "SENTINEL_QUERY_TRIES": "2",
        "SENTINEL_QUERY_INTERVAL": "0.1",
        "SENTINEL_QUERY_TIMEOUT": "1",
        "START_WAIT_SECONDS": "2",
        "REDIS_SERVER_BIN": str(_stub(tmp)),
    }


@pytest.fixture(autouse=True)
def _binaries():
    for b in (POD_SHELL[0], "redis-cli", "redis-server"):
        require(b)


@pytest.mark.parametrize("me", ["redis-0.redis-headless", "redis-2.redis-headless"])
def test_no_node_starts_as_master_when_no_sentinel_answers(tmp_path, me):
    """Not pod 0 either: with no Sentinel to ask, a node starts as a standby
    (a replica of nothing) and gives up, bounded, when no master is chosen."""
    out = run_script(REDIS_START, _start_env(tmp_path, me))
    assert out.returncode == 1, out.stdout + out.stderr
    runtime = (tmp_path / "run" / "runtime.conf").read_text()
    assert "replicaof 127.0.0.1 1" in runtime
    assert f"replica-announce-ip {me}" in runtime
    assert (tmp_path / "argv").read_text().strip() == str(tmp_path / "redis.conf")
    assert "starting redis as a standby" in out.stderr
    assert "redis did not answer PING within 2s" in out.stderr
    assert PASSWORD not in out.stdout + out.stderr
    assert (tmp_path / "run" / "runtime.conf").stat().st_mode & 0o077 == 0


def test_start_refuses_without_a_password_file(tmp_path):
    env = _start_env(tmp_path, "redis-0.redis-headless")
    (tmp_path / "acl" / "replication").write_text("")
    out = run_script(REDIS_START, env)
    assert out.returncode == 1 and "no password for ACL user replication" in out.stderr
    assert not (tmp_path / "argv").exists()


def test_runtime_include_password_is_read_back_by_redis(tmp_path, procs):
    """The escaped passwords in the runtime include parse back to the originals."""
    run_script(REDIS_START, _start_env(tmp_path, "redis-0.redis-headless"))
    sock = tmp_path / "s.sock"
    conf = tmp_path / "check.conf"
    conf.write_text(
        f'port 0\nunixsocket {sock}\ndir {tmp_path}\nsave ""\ninclude {tmp_path / "run" / "runtime.conf"}\n'
    )
    procs.start(["redis-server", str(conf)], tmp_path / "redis.log")
    c = redis.Redis(unix_socket_path=str(sock), username="admin", password="admin-pw", socket_timeout=2)
    wait_for(lambda: c.ping(), 10, what="redis on a unix socket")
    assert c.config_get("masterauth")["masterauth"] == PASSWORD
    assert c.config_get("masteruser")["masteruser"] == "replication"
    # The replication user's quoted password logs in as it is.
    r = redis.Redis(unix_socket_path=str(sock), username="replication", password=PASSWORD, socket_timeout=2)
    assert r.ping()


def test_sentinel_start_keeps_state_and_replaces_secrets(tmp_path):
    src = tmp_path / "etc" / "sentinel.conf"
    src.parent.mkdir()
    src.write_text(render_sentinel_conf(SentinelConfSpec(master_host="redis-0.h", failover=SentinelFailover(master_set="main"))))
    work = tmp_path / "work"
    work.mkdir()
    # As Sentinel left it after a failover, with older passwords.
    (work / "sentinel.conf").write_text(
        src.read_text().replace("redis-0.h", "redis-1.h")
        + 'requirepass "old"\nsentinel auth-pass main "old"\nsentinel auth-user main sentinel\n'
        + 'sentinel sentinel-user sentinel\nsentinel sentinel-pass "old"\n'
        + 'user default on #abc ~* &* +@all\nuser admin on #old &* +@all\nsentinel myid 42\n'
    )
    env = {
        **_acl(tmp_path, {"admin": "new-admin", "sentinel": "new"}),
        "SENTINEL_CONF_SRC": str(src),
        "SENTINEL_WORK_DIR": str(work),
        "SENTINEL_ANNOUNCE_HOST": "sentinel-0.h",
        "SENTINEL_BIN": str(_stub(tmp_path)),
    }
    out = run_script(SENTINEL_START, env)
    assert out.returncode == 0, out.stdout + out.stderr
    text = (work / "sentinel.conf").read_text()
    assert "sentinel monitor main redis-1.h 6379 2" in text  # the kept view
    assert "sentinel myid 42" in text
    assert "old" not in text and "user default on" not in text and "requirepass" not in text
    assert "user default off resetpass resetkeys resetchannels -@all" in text
    assert 'user admin on &* +@all ">new-admin"' in text and 'user sentinel on -@all +ping ">new"' in text
    assert 'sentinel auth-user main sentinel' in text and 'sentinel auth-pass main "new"' in text
    assert 'sentinel sentinel-user sentinel' in text and 'sentinel sentinel-pass "new"' in text
    assert text.count("sentinel auth-pass") == 1 and text.count("user admin ") == 1
    assert "sentinel announce-ip sentinel-0.h" in text
    assert "new" not in src.read_text()


def test_new_sentinel_without_a_master_to_find_gives_up_bounded(tmp_path):
    """A Sentinel pod with no state never monitors the rendered placeholder."""
    src = tmp_path / "etc" / "sentinel.conf"
    src.parent.mkdir()
    src.write_text(render_sentinel_conf(SentinelConfSpec(master_host="redis-0.h", failover=SentinelFailover(master_set="main"))))
    env = {
        **_acl(tmp_path, {"admin": "pw", "sentinel": "pw2"}),
        "SENTINEL_CONF_SRC": str(src),
        "SENTINEL_WORK_DIR": str(tmp_path / "work"),
        "SENTINEL_ANNOUNCE_HOST": "sentinel-0.h",
        "SENTINEL_HOSTS": f"sentinel-0.h {SILENT} {SILENT}",
        "REDIS_HOSTS": f"{SILENT} {SILENT}",
        "SENTINEL_START_WAIT": "1",
        "SENTINEL_QUERY_INTERVAL": "0.2",
        "SENTINEL_QUERY_TIMEOUT": "1",
        "SENTINEL_BIN": str(_stub(tmp_path)),
    }
    out = run_script(SENTINEL_START, env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "no master known after 1s" in out.stderr
    assert not (tmp_path / "argv").exists()
    assert not (tmp_path / "work" / "sentinel.conf").exists()


def test_prestop_on_a_node_that_does_not_answer_does_nothing(tmp_path):
    env = _start_env(tmp_path, "redis-1.redis-headless")
    out = run_script(REDIS_PRESTOP, env, ("5",))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "nothing to hand over" in out.stderr
