"""Values each grammar check accepts or refuses, in one importable place.

Per grammar: ``accept`` (the real consumer accepts, and so does the config),
``refuse`` (the real consumer refuses, and so does the config) and
``refuse_stricter`` (the consumer parses it, but to something a stack file
never means: the config refuses it on purpose; an agreement test expects the
consumer to accept these). ``consumer`` names who parses the value for real.

Unit tests check the config's validators against every list; integration
tests feed the Prometheus ones to promtool/prometheus and the cron, CIDR and
Go duration ones to the Go libraries the consumers use; the end-to-end tier
can feed ``cron`` and ``cidr`` to a real kube-apiserver (CronJob
``spec.schedule``, Service ``spec.loadBalancerSourceRanges``).
"""

from __future__ import annotations

SAMPLES: dict[str, dict[str, object]] = {
    "cron": {
        "consumer": "kube-apiserver CronJob spec.schedule (robfig/cron v3 ParseStandard, no TZ)",
        "accept": [
            "0 3 * * *", "30 18 * * *", "*/15 * * * *", "0 0 1 * *", "0 0 * * 0", "0 0 * * 6",
            "0-59/5 0-23 1-31 1-12 0-6", "5/15 * * * *", "0 9-17 * * MON-FRI", "0 0 1 jan,jul *",
            "0 12 * * sun", "1,2,3 * * * *", "0 0 ? * *", "0  3  *  *  *", "00 03 * * *",
            "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
            "@every 1h", "@every 1h30m", "@every 90s",
        ],
        "refuse": [
            "", "0 3 * *", "0 3 * * * *", "60 * * * *", "0 24 * * *", "0 0 0 * *", "0 0 32 * *",
            "0 0 * 13 *", "0 0 * 0 *", "0 0 * * 7", "*/0 * * * *", "5-1 * * * *", "1-2-3 * * * *",
            "*/5/2 * * * *", "a * * * *", "0 0 * foo *", "0 0 * * funday", "-1 * * * *", "@Daily",
            "@every", "@every 1d", "@reboot", "TZ=UTC 0 3 * * *", "CRON_TZ=Europe/Paris 0 3 * * *",
            "0 3 * * * # nightly", "L * * * *",
        ],
        "refuse_stricter": [
            # Parsed, but a field with no value never runs; under a second is rounded up to a second.
            ", * * * *", "@every 500ms", "@every 0s",
        ],
    },
    "cidr": {
        "consumer": "kube-apiserver Service spec.loadBalancerSourceRanges, NetworkPolicy ipBlock (k8s.io/utils ParseCIDRSloppy)",
        "accept": [
            "10.0.0.0/8", "192.168.1.0/24", "203.0.113.7/32", "0.0.0.0/0", "10.1.2.3/8",
            "2001:db8::/32", "::/0", "::1/128", "fe80::/10", "::ffff:10.0.0.0/104", "10.0.0.0/08",
        ],
        "refuse": [
            "", "10.0.0.0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/255.0.0.0",
            "10.0.0/8", "10.0.0.256/32", "2001:db8::/129", "fe80::1%eth0/64", "10.0.0.0/8/8",
            "example.com/32", "10.0.0.0/ 8", "10.0.0.0/+8", "any",
        ],
        "refuse_stricter": [
            # The API server reads a leading zero as decimal (10.0.0.0/8) for
            # compatibility; Go's own parser and other tools refuse or read it
            # as octal, so a stack file must not depend on either reading.
            "010.0.0.0/8",
        ],
    },
    "prometheus_duration": {
        "consumer": "Prometheus model.ParseDuration (scrape_interval, --storage.tsdb.retention.time)",
        "accept": ["30s", "15d", "1h30m", "2w", "1y", "500ms", "1d12h", "1y2w3d4h5m6s7ms", "90s", "120m", "0010s"],
        "refuse": [
            "", "15 days", "1.5h", "30m1h", "1m1m", "1d1w", "10", "-5m", "5M", "1h 30m", "s", "1mo", "30S",
        ],
        # Prometheus takes zero as "use the default interval".
        "refuse_stricter": ["0", "0s", "0d"],
    },
    "go_duration": {
        "consumer": "Go time.ParseDuration (cAdvisor --housekeeping_interval, robfig @every)",
        "accept": ["10s", "1m", "1h30m", "1.5h", "300ms", "2h45m", "1m1m", ".5s", "1.s", "100us", "+10s"],
        "refuse": ["", "1d", "10", "1w", "s", ".s", "1 m", "10S", "1h-5m"],
        "refuse_stricter": ["0", "0s", "-10s"],
    },
    "prometheus_size": {
        "consumer": "Prometheus units.ParseBase2Bytes (--storage.tsdb.retention.size, body_size_limit)",
        "accept": ["40GB", "512MB", "1TB", "1.5TB", "100KiB", "8GiB", "1GB512MB", "2048B", ".5GB", "1KB"],
        "refuse": ["40Gi", "40G", "40", "40gb", "1kB", "GB", "1GiB512MB", "1.2.3GB", "40 GB", "-", ""],
        # Prometheus reads zero and negative sizes as "no size limit".
        "refuse_stricter": ["0", "-1GB", "0GB"],
    },
    "scrape_target": {
        "consumer": "Prometheus static_configs targets (__address__)",
        "accept": ["app.web.svc:8000", "10.0.0.5:9100", "prometheus.monitoring.svc:9090", "[2001:db8::1]:9100",
                   "localhost:9090", "node_1.example:443", "prometheus"],
        "refuse": ["http://app:8000", "app:8000/metrics", "https://prometheus.monitoring.svc:9090/federate",
                   "app:8000/", "/metrics", "10.0.0.5/32:9100"],
        # Prometheus loads these, then fails every scrape of them.
        "refuse_stricter": ["app:99999", "app:0", "app:http", "2001:db8::1:9100", "bad host:80", "app:", ":9100"],
    },
    "selector": {
        "consumer": "Prometheus /federate match[] (promql parser.ParseMetricSelector)",
        "accept": [
            "up", "job:redis_memory:ratio", ':foo', '{__name__=~"job:.*"}', '{job="redis",team!=""}',
            'up{job="a",}', "up{job='a'}", "up{job=`a\\q`}", 'up{job=~"redis|haproxy"}', 'up{job!~"x.*"}',
            'sum{job="x"}', "by", "offset", '  up  {  job = "a" }  ', 'up{job="\\u00e9"}', 'up{job="a\\"b"}',
            'redis_up{instance=~"10\\\\.0\\\\..*"}',
        ],
        "refuse": [
            "", "{job=", "up[5m]", "rate(up[5m])", "up offset 5m", "bool", "on", "inf", "NaN", "up{job:x=\"a\"}",
            'up{job="a\\q"}', 'up{job=~"(a"}', "{job}", 'up{job="a"', 'up{"job"="a"}', "up or down", "1",
            'up{job="a"}{team="b"}', "up{job==\"a\"}", "job-name",
        ],
        # Parsed by ParseMetricSelector, but select every series or none.
        "refuse_stricter": ["{}", '{job=~".*"}', '{job=""}', 'up{__name__="up"}'],
    },
}
