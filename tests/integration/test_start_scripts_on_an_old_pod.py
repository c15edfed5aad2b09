"""A pod of an earlier release mounts only the script keys its template
listed; the ConfigMap changes in place, so if its container restarts before
the roll reaches it, it runs the new start script without acl-lib.sh, which
that release did not have. The start script must then stop with one line
that says so, not a shell error, and start nothing."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from components.redis.sentinel_scripts import script_path
from tests.integration.sentinel.harness import POD_SHELL

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("script", ["cluster-start.sh", "sentinel-redis-start.sh", "sentinel-start.sh"])
def test_start_without_acl_lib_stops_with_one_clear_line(tmp_path, script):
    for f in script_path("acl-lib.sh").parent.glob("*.sh"):
        if f.name != "acl-lib.sh":
            shutil.copy(f, tmp_path / f.name)
    out = subprocess.run([*POD_SHELL, str(tmp_path / script)], capture_output=True, text=True, timeout=20,
                         env={"PATH": "/usr/bin:/bin", "REDIS_SERVER_BIN": str(tmp_path / "never-started")})
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert out.returncode == 1, lines
    assert len(lines) == 1 and "acl-lib.sh is not mounted here" in lines[0] and "earlier release" in lines[0], lines
