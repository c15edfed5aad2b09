"""The cluster pod scripts' renderer: what it ships and what it promises the component."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from components.redis.cluster_scripts import (
    ACL_LIB,
    PREROLL_LIB,
    BOOTSTRAP_COMMAND,
    BOOTSTRAP_SCRIPT,
    LIB_SCRIPT,
    PREROLL_SCRIPT,
    PRESTOP_SCRIPT,
    REPAIR_SCRIPT,
    TLS_RELOAD,
    BOOTSTRAP_SECRET_ENV,
    FIELD_ENV,
    START_COMMAND,
    START_SCRIPT,
    START_SECRET_ENV,
    ClusterTopology,
    bootstrap_env,
    bootstrap_job_name,
    cluster_scripts,
    node_hostnames,
    start_env,
)
from components.common.redis_contract import SCRIPTS_DIR

TOPO = ClusterTopology("redis-x", "redis-x-headless", "ns", shards=3, replicas_per_shard=1)


def uses(script: str, var: str) -> bool:
    return re.search(r"\$\{?" + re.escape(var) + r"\b", script) is not None


def test_ships_the_scripts_as_posix_sh():
    scripts = cluster_scripts()
    assert set(scripts) == {START_SCRIPT, BOOTSTRAP_SCRIPT, PRESTOP_SCRIPT, REPAIR_SCRIPT, TLS_RELOAD, LIB_SCRIPT, ACL_LIB,
                            PREROLL_SCRIPT, PREROLL_LIB}
    # The ACL library is sourced by the start script from the same mount, not run.
    assert f'. "$(dirname "$0")/{ACL_LIB}"' in scripts[START_SCRIPT]
    # The pre-roll's wait helper likewise, by the pre-roll script.
    assert f'. "$SCRIPTS/{PREROLL_LIB}"' in scripts[PREROLL_SCRIPT]
    for name, text in ((n, t) for n, t in scripts.items() if n not in (ACL_LIB, PREROLL_LIB)):
        assert text.startswith("#!/bin/sh\n")
        if name == LIB_SCRIPT:
            # Sourced by the bootstrap and the repair: it sets no shell options of theirs.
            assert "\nset -" not in text
            for user in (BOOTSTRAP_SCRIPT, REPAIR_SCRIPT):
                assert f'. "$(dirname "$0")/{LIB_SCRIPT}"' in scripts[user], user
            continue
        # The preStop hook, the background repair and the certificate
        # reloader handle every failure themselves (the pod stops, or redis
        # keeps running, either way); the others stop at the first unhandled error.
        # The pre-roll checks each step itself and says why it stops.
        assert ("\nset -u\n" if name in (PRESTOP_SCRIPT, REPAIR_SCRIPT, TLS_RELOAD, PREROLL_SCRIPT)
                else "\nset -eu\n") in text
        assert "bash" not in text.split("\n", 1)[0]


def test_commands_run_the_mounted_scripts_with_sh():
    assert START_COMMAND == ("sh", f"{SCRIPTS_DIR}/{START_SCRIPT}")
    assert BOOTSTRAP_COMMAND == ("sh", f"{SCRIPTS_DIR}/{BOOTSTRAP_SCRIPT}")


@pytest.mark.parametrize("name", [START_SCRIPT, BOOTSTRAP_SCRIPT, LIB_SCRIPT, PREROLL_SCRIPT])
def test_scripts_keep_secrets_out_of_args_and_never_wipe_data(name):
    text = cluster_scripts()[name]
    assert not re.search(r"redis-cli[^\n]*\s-a\s", text), "the password must reach redis-cli by REDISCLI_AUTH"
    assert "set -x" not in text
    code = "\n".join(ln for ln in text.lower().splitlines() if not ln.lstrip().startswith("#"))
    for wipe in ("flushall", "flushdb", "cluster reset", "--cluster fix", "rm -rf"):
        if wipe == "cluster reset" and name == BOOTSTRAP_SCRIPT:
            continue  # its one reset, rejoin_fresh's, is pinned by the next test
        assert wipe not in code, f"{name} must never run {wipe}"


def test_the_bootstrap_resets_only_a_drained_master_that_holds_no_slots():
    """The one CLUSTER RESET (soft: same node ID) is rejoin_fresh's, after its
    check that the node holds no slots, and rejoin_fresh runs only on the
    drained masters that stay, once the drain has moved their slots."""
    text = cluster_scripts()[BOOTSTRAP_SCRIPT]
    code = [ln.strip() for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    # Every line that names a reset: one command, and what it logs.
    assert [ln for ln in code if "cluster reset" in ln.lower()] == [
        'log "$1 held a drained shard and stays: it rejoins as a new member would (CLUSTER RESET SOFT, MEET, '
        'REPLICATE $2), so nothing of the drain\'s slot bookkeeping stays in its memory"',
        '[ "$(cli "$1" cluster reset soft)" = OK ] || die "CLUSTER RESET SOFT refused by $1"']
    body = text[text.index("\nrejoin_fresh() {"):]
    body = body[:body.index("\n}\n")]
    assert body.index("NF >= 9 { f = 1 } END { exit f }") < body.index("cluster reset soft")
    calls = [ln for ln in code if ln.startswith("rejoin_fresh ")]
    assert calls == ['rejoin_fresh "$(host_of "$id")" "$(masters_by_replicas "$ref" "$drain" | head -n 1)"']
    shrink = text[text.index("\nshrink_cluster() {"):]
    loop = shrink[:shrink.index(calls[0])]
    assert "--cluster rebalance" in loop and loop.rstrip().endswith(
        'for id in $drain; do\n        stays "$id" || continue')


def test_start_script_reads_every_variable_the_module_promises():
    # The redis container's env serves its start script and the two scripts
    # it runs (repair in the background, preStop): the admin user is theirs.
    scripts = cluster_scripts()
    script = "\n".join(scripts[n] for n in (START_SCRIPT, REPAIR_SCRIPT, PRESTOP_SCRIPT))
    for var in [*start_env(TOPO), *FIELD_ENV, START_SECRET_ENV]:
        assert uses(script, var), var
    for var in ("USERS_ACL", "ACL_DIR"):
        assert uses(scripts[START_SCRIPT], var), var
    for name in (REPAIR_SCRIPT, PRESTOP_SCRIPT, BOOTSTRAP_SCRIPT):
        assert uses(scripts[name], "REDIS_USER"), name


def test_bootstrap_script_reads_every_variable_the_module_promises():
    script = cluster_scripts()[BOOTSTRAP_SCRIPT]
    for var in [*bootstrap_env(TOPO), BOOTSTRAP_SECRET_ENV]:
        assert uses(script, var), var


def test_field_env_comes_from_the_downward_api():
    assert FIELD_ENV == {"POD_NAME": "metadata.name", "NAMESPACE": "metadata.namespace", "POD_IP": "status.podIP"}
    assert START_SECRET_ENV == "REDISCLI_AUTH" and BOOTSTRAP_SECRET_ENV == "REDISCLI_AUTH"


def test_no_secret_in_plain_env():
    for env in (start_env(TOPO), bootstrap_env(TOPO)):
        assert not {"REDIS_PASSWORD", "REDISCLI_AUTH"} & set(env)


def test_node_hostnames_follow_statefulset_dns():
    names = node_hostnames(replace(TOPO, shards=4, replicas_per_shard=2))
    assert len(names) == 12
    assert names[0] == "redis-x-0.redis-x-headless.ns.svc.cluster.local"
    assert names[-1] == "redis-x-11.redis-x-headless.ns.svc.cluster.local"


def test_bootstrap_env_carries_topology():
    env = bootstrap_env(replace(TOPO, shards=5, replicas_per_shard=2, cluster_domain="corp.local"))
    assert env["SHARDS"] == "5" and env["REPLICAS_PER_SHARD"] == "2"
    assert env["STATEFULSET_NAME"] == "redis-x" and env["CLUSTER_DOMAIN"] == "corp.local"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"shards": 2}, "at least 3 shards"),
        ({"replicas_per_shard": -1}, "replicas_per_shard"),
        ({"statefulset_name": "Redis_X"}, "statefulset_name"),
        ({"namespace": "a" * 64}, "namespace"),
    ],
)
def test_topology_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        replace(TOPO, **kwargs)


def test_job_name_changes_exactly_with_topology():
    name = bootstrap_job_name(TOPO)
    assert name == bootstrap_job_name(ClusterTopology("redis-x", "redis-x-headless", "ns", 3, 1))
    assert name.startswith("redis-x-bootstrap-")
    others = {bootstrap_job_name(replace(TOPO, shards=4)), bootstrap_job_name(replace(TOPO, replicas_per_shard=2))}
    assert name not in others and len(others) == 2


def test_job_name_is_a_valid_name_even_for_long_statefulsets():
    name = bootstrap_job_name(replace(TOPO, statefulset_name="r" * 60 + "-x"))
    assert len(name) <= 63
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)
