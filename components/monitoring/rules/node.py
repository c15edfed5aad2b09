"""Node alerts from node-exporter."""

from __future__ import annotations

from components.monitoring.rules.model import Alert, RuleGroup, RulesSpec

# Pseudo and image filesystems never fill in a way an operator can act on.
FS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs"'


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    avail_ratio = f"node_filesystem_avail_bytes{{{FS}}} / node_filesystem_size_bytes{{{FS}}}"
    writable = f"node_filesystem_readonly{{{FS}}} == 0"
    horizon = spec.fs_predict_horizon_hours * 3600
    return (
        RuleGroup(
            "node-alerts",
            (
                Alert("NodeFilesystemFillingUp",
                      f"predict_linear(node_filesystem_avail_bytes{{{FS}}}[{spec.fs_predict_window}], {horizon}) < 0 "
                      f"and {avail_ratio} < 0.4 and {writable}",
                      "1h", "warning", "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is filling up",
                      f"At the current rate {{{{ $labels.mountpoint }}}} on node {{{{ $labels.node }}}} "
                      f"is full within {spec.fs_predict_horizon_hours}h."),
                Alert("NodeFilesystemAlmostFull", f"{avail_ratio} < {spec.fs_almost_full_ratio} and {writable}",
                      "30m", "critical", "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} almost full",
                      "Only {{ $value | printf \"%.3f\" }} of {{ $labels.mountpoint }} on node {{ $labels.node }} is free."),
                Alert("NodeMemoryPressure",
                      f"node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < {spec.node_memory_available_ratio}",
                      "15m", "warning", "Node {{ $labels.node }} is short of memory",
                      "Only {{ $value | printf \"%.2f\" }} of the memory of node {{ $labels.node }} is available; "
                      "the kernel may OOM-kill pods."),
            ),
        ),
    )
