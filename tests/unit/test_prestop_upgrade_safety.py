"""A preStop hook must still work on the pods an upgrade is about to replace.

The script ConfigMaps keep their names and are updated in place, and the pods
mount chosen keys (``items``). So while a StatefulSet rolls, a pod still on
the *previous* template runs the *new* text of its preStop script, but sees
only the keys its old template listed: a preStop that sources a library
added in this release fails on exactly the pods it must hand over from, and
the master stops without a graceful failover.

The sets below are the keys the previous release's pods mount. Add a key to
one only when no running deployment can still have pods without it (a
release in which every pod template already mounted it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.operations import scripts as ops_scripts
from components.redis import cluster_scripts, sentinel_scripts
from components.redis.shared_scripts import ACL_LIB

# (scripts folder, preStop script, keys the previous release's pods mount)
PRESTOPS = [
    (Path(cluster_scripts.__file__).parent / "scripts", cluster_scripts.PRESTOP_SCRIPT,
     {"cluster-start.sh", "cluster-bootstrap.sh", "cluster-prestop.sh", "cluster-repair.sh", "redis-tls-reload.sh"}),
    (Path(sentinel_scripts.__file__).parent / "scripts", sentinel_scripts.REDIS_PRESTOP,
     {"sentinel-lib.sh", "sentinel-redis-start.sh", "sentinel-redis-prestop.sh", "redis-tls-reload.sh"}),
    (Path(ops_scripts.__file__).parent / "scripts", ops_scripts.PRESTOP,
     {"s3-lib.sh", "backup-agent.sh", "backup-prestop.sh"}),
]

# `. "$(dirname "$0")/x.sh"` or `. "$SCRIPTS/x.sh"` at the start of a line.
SOURCE = re.compile(r'^\s*\.\s+"\$(?:\(dirname "\$0"\)|\{?SCRIPTS\}?)/([\w.-]+)"', re.M)


def sourced(folder: Path, script: str) -> set[str]:
    """Every file ``script`` sources, directly or through what it sources."""
    seen: set[str] = set()
    todo = [script]
    while todo:
        for name in SOURCE.findall((folder / todo.pop()).read_text()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def test_the_source_pattern_sees_both_spellings():
    text = '. "$(dirname "$0")/a.sh"\n  . "$SCRIPTS/b.sh"\n# . "$(dirname "$0")/c.sh"\n'
    assert SOURCE.findall(text) == ["a.sh", "b.sh"]


@pytest.mark.parametrize("folder,prestop,mounted_before", PRESTOPS, ids=[p[1] for p in PRESTOPS])
def test_prestop_sources_only_what_the_previous_pods_mount(folder, prestop, mounted_before):
    new = sourced(folder, prestop) - mounted_before
    assert not new, (f"{prestop} sources {sorted(new)}, which pods of the previous release do not mount: "
                     "their preStop would fail during the roll that replaces them")



REDIS_SCRIPTS = Path(cluster_scripts.__file__).parent / "scripts"
C, S = cluster_scripts, sentinel_scripts
# (where, keys mounted there, the scripts run there): the pods mount
# SCRIPT_NAMES, the bootstrap Job BOOTSTRAP_SCRIPTS, the pre-roll Jobs
# PREROLL_SCRIPT_NAMES.
MOUNTS = [
    ("cluster-pod", C.SCRIPT_NAMES, (C.START_SCRIPT, C.PRESTOP_SCRIPT, C.REPAIR_SCRIPT, C.TLS_RELOAD)),
    ("cluster-bootstrap", C.BOOTSTRAP_SCRIPTS, (C.BOOTSTRAP_SCRIPT,)),
    ("cluster-preroll", C.PREROLL_SCRIPT_NAMES, (C.PREROLL_SCRIPT, C.BOOTSTRAP_SCRIPT)),
    ("sentinel-pods", S.SCRIPT_NAMES, (S.SENTINEL_START, S.REDIS_START, S.REDIS_PRESTOP, S.TLS_RELOAD)),
    ("sentinel-preroll", S.PREROLL_SCRIPT_NAMES, (S.PREROLL,)),
]
RUNS = [(f"{where}:{script}", script, keys) for where, keys, scripts in MOUNTS for script in scripts]


@pytest.mark.parametrize("script,mounted", [r[1:] for r in RUNS], ids=[r[0] for r in RUNS])
def test_every_script_sources_only_keys_mounted_where_it_runs(script, mounted):
    assert script in mounted
    assert sourced(REDIS_SCRIPTS, script) <= set(mounted)


@pytest.mark.parametrize("script", sorted({r[1] for r in RUNS}))
def test_a_script_calling_the_acl_helpers_sources_acl_lib(script):
    # acl-lib.sh is sourced only by the start scripts that use it, so that
    # no preStop (nor sentinel-lib.sh, which the preStop sources) needs it.
    if re.search(r"\bacl_\w+", (REDIS_SCRIPTS / script).read_text()):
        assert ACL_LIB in sourced(REDIS_SCRIPTS, script)
