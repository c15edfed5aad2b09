"""The cold-start election (elect_master in sentinel-lib.sh) under the pod
shell, on the recorded states a real failover leaves behind.

Each line is what a standby publishes: host, replid, offset, and the
history it was promoted from (parent replid and the offset it is valid up
to, from INFO's master_replid2 and second_repl_offset).
"""

from __future__ import annotations

import subprocess

import pytest

from components.redis.sentinel_scripts import LIB
from tests.integration.sentinel.harness import POD_SHELL, script_path

pytestmark = pytest.mark.integration

R1, R2, R3, X = ("a" * 40, "b" * 40, "c" * 40, "d" * 40)


def elect(*lines: str) -> str:
    out = subprocess.run([*POD_SHELL, "-c", f'. "{script_path(LIB)}"; elect_master'],
                         input="".join(f"{ln}\n" for ln in lines), capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_promoted_history_beats_the_majority_still_on_its_parent():
    """The CI failure: pod 0 handed over, pod 2 was promoted (R2 from R1 at
    6928) and took writes; pod 1 never finished syncing to it, so pods 0 and
    1 still hold R1, at an offset past the branch point (the old master's
    last PING). Two of three share R1, but pod 2 holds every acknowledged
    write."""
    assert elect(f"p0 {R1} 6941 none 0", f"p1 {R1} 6941 none 0", f"p2 {R2} 18655 {R1} 6928") == "p2"


def test_chain_of_promotions_picks_the_last():
    assert elect(f"p0 {R1} 900 none 0", f"p1 {R3} 50 {R2} 40", f"p2 {R2} 700 {R1} 600") == "p1"


def test_same_history_highest_offset_then_first_listed():
    assert elect(f"p0 {R1} 10 none 0", f"p1 {R1} 30 none 0", f"p2 {R1} 20 none 0") == "p1"
    assert elect(f"p0 {R1} 30 none 0", f"p1 {R1} 30 none 0", f"p2 {R1} 20 none 0") == "p0"


def test_a_node_without_a_record_never_wins_over_one_with():
    assert elect("p0 none 0 none 0", f"p1 {R1} 1 none 0", "p2 none 0 none 0") == "p1"
    assert elect("p0 none 0 none 0", "p1 none 0 none 0") == "p0"


def test_unrelated_histories_fall_back_to_the_most_shared_then_the_offset():
    """No record links X to R1 (a cold start's promotion starts a history of
    its own): the replid two nodes share wins over the higher offset."""
    assert elect(f"p0 {X} 5000 none 0", f"p1 {R1} 100 none 0", f"p2 {R1} 90 none 0") == "p1"
    assert elect(f"p0 {X} 100 none 0", f"p1 {R1} 200 none 0") == "p1"


def test_records_of_an_earlier_release_read_as_having_no_parent():
    """Two-field lines, as the previous release's standbys publish them."""
    assert elect(f"p0 {R1} 50", f"p1 {R2} 60 {R1} 40", f"p2 {R1} 50") == "p1"
    assert elect(f"p0 {R1} 50", f"p1 {R1} 70") == "p1"
