"""RedisSentinel and HAProxyFrontend as the real program registers them."""

from __future__ import annotations

import json

import pytest

from components.redis import sentinel_scripts
from tests.unit.conftest import BASE_CONFIG, run_with

DOMAIN = "redis.svc.cluster.local"


def sentinel_run(**dep):
    entry = {"name": "cache", "team": "web", "mode": "sentinel", "size": "small"} | dep
    return run_with(BASE_CONFIG | {"redisNamespace": "redis", "deployments": [entry]})


@pytest.fixture(scope="module")
def run():
    return sentinel_run()


def one(run, kind, name):
    (obj,) = run.k8s(kind, name)
    return obj


def containers(obj):
    return {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}


def env_of(container):
    return {e["name"]: e for e in container["env"]}


def conf(run, key):
    return one(run, "ConfigMap", "cache-config")["data"][key]


def test_one_master_and_two_replicas_with_pvcs(run):
    sts = one(run, "StatefulSet", "cache")
    assert sts["spec"]["replicas"] == 3
    assert sts["metadata"]["annotations"] == {"redis-platform/mode": "sentinel", "redis-platform/replicas-per-master": "2"}
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "standard"
    assert sentinel_run(sentinel={"replicas": 4}).k8s("StatefulSet", "cache")[0]["spec"]["replicas"] == 5


def test_data_nodes_aof_and_maxmemory_without_cluster_mode(run):
    text = conf(run, "redis.conf")
    assert "appendonly yes" in text and "appendfsync everysec" in text
    assert f"maxmemory {int(2**30 * 0.7)}" in text
    assert "cluster-enabled" not in text
    assert "repl-diskless-sync-max-replicas 2" in text


def test_three_sentinels_with_quorum_and_timeouts():
    run = sentinel_run(sentinel={"sentinels": 5, "quorum": 4, "downAfterMs": 3000, "failoverTimeoutMs": 20000, "masterSet": "cachemaster"})
    assert one(run, "StatefulSet", "cache-sentinel")["spec"]["replicas"] == 5
    text = conf(run, "sentinel.conf")
    master = f"cache-0.cache-headless.{DOMAIN}"
    assert f"sentinel monitor cachemaster {master} 6379 4" in text
    assert "sentinel down-after-milliseconds cachemaster 3000" in text
    assert "sentinel failover-timeout cachemaster 20000" in text
    assert "sentinel resolve-hostnames yes" in text and "sentinel announce-hostnames yes" in text


def test_default_sentinel_settings(run):
    assert one(run, "StatefulSet", "cache-sentinel")["spec"]["replicas"] == 3
    assert f"sentinel monitor mymaster cache-0.cache-headless.{DOMAIN} 6379 2" in conf(run, "sentinel.conf")
    assert "down-after-milliseconds mymaster 5000" in conf(run, "sentinel.conf")


DATA_USERS = ("app", "admin", "replication", "exporter", "backup", "sentinel", "haproxy")
SENTINEL_USERS = ("app", "admin", "sentinel", "haproxy", "backup", "exporter")


def user_secret(user: str) -> str:
    return "cache-auth" if user == "app" else f"cache-acl-{user}"


def test_every_user_has_its_own_secret_and_passwords_stay_out_of_objects(run):
    passwords = {}
    for user in DATA_USERS:
        secret = one(run, "Secret", user_secret(user))
        passwords[user] = secret["stringData"]["password"]
        assert passwords[user] in run.generated_secrets and secret["stringData"]["username"] == user
    assert len(set(passwords.values())) == len(DATA_USERS)
    for cm in run.k8s("ConfigMap"):
        assert not any(p in v for p in passwords.values() for v in cm["data"].values())
    for kind in ("StatefulSet", "Deployment", "CronJob", "Job"):
        for obj in run.k8s(kind):
            assert not any(p in json.dumps(obj) for p in passwords.values()), obj["metadata"]["name"]
    # Scripts and probes of both pod groups log in as admin.
    for sts, container in (("cache", "redis"), ("cache-sentinel", "sentinel")):
        env = env_of(containers(one(run, "StatefulSet", sts))[container])
        assert env["REDIS_USER"]["value"] == "admin" and "REDIS_PASSWORD" not in env
        assert env["REDISCLI_AUTH"]["valueFrom"]["secretKeyRef"] == {"name": "cache-acl-admin", "key": "password"}
    # Each pod group reads its users' passwords from one projected volume.
    for sts, users in (("cache", DATA_USERS), ("cache-sentinel", SENTINEL_USERS)):
        pod = one(run, "StatefulSet", sts)["spec"]["template"]["spec"]
        (acl,) = [v for v in pod["volumes"] if v["name"] == "acl-users"]
        assert [(s["secret"]["name"], s["secret"]["items"]) for s in acl["projected"]["sources"]] == [
            (user_secret(u), [{"key": "password", "path": u}]) for u in users]


def test_users_files_and_default_user_off(run):
    assert "user default off resetpass resetkeys resetchannels -@all" in conf(run, "redis.conf").splitlines()
    data = [l.split()[1] for l in conf(run, "users.acl").splitlines() if l.startswith("user ")]
    sentinel = [l.split()[1] for l in conf(run, "sentinel-users.acl").splitlines() if l.startswith("user ")]
    assert tuple(data) == DATA_USERS and tuple(sentinel) == SENTINEL_USERS
    # Sentinel's own config starts without users; its start script adds them
    # and turns default off (tests/integration/sentinel/test_scripts.py).
    assert "user " not in conf(run, "sentinel.conf") and "requirepass" not in conf(run, "sentinel.conf")


def test_stable_hostnames_announced(run):
    node = containers(one(run, "StatefulSet", "cache"))["redis"]
    env = env_of(node)
    assert env["REDIS_ANNOUNCE_HOST"]["value"] == f"$(POD_NAME).cache-headless.{DOMAIN}"
    assert "INITIAL_MASTER_HOST" not in env  # no fixed ordinal is ever the fallback master
    assert env["SENTINEL_HOSTS"]["value"].split() == [f"cache-sentinel-{i}.cache-sentinel-headless.{DOMAIN}" for i in range(3)]
    data_hosts = [f"cache-{i}.cache-headless.{DOMAIN}" for i in range(3)]
    assert env["REDIS_HOSTS"]["value"].split() == data_hosts
    # The recorded replication state lives on the data volume, beside the data it describes.
    assert env["REPL_STATE_FILE"]["value"] == "/data/replication-state"
    sentinel = env_of(containers(one(run, "StatefulSet", "cache-sentinel"))["sentinel"])
    assert sentinel["REDIS_HOSTS"]["value"].split() == data_hosts
    assert sentinel["SENTINEL_HOSTS"] == env["SENTINEL_HOSTS"]
    assert sentinel["SENTINEL_ANNOUNCE_HOST"]["value"] == f"$(POD_NAME).cache-sentinel-headless.{DOMAIN}"
    for svc in ("cache-headless", "cache-sentinel-headless"):
        assert one(run, "Service", svc)["spec"]["publishNotReadyAddresses"] is True


def _hashes(run):
    return {name: one(run, "StatefulSet", name)["spec"]["template"]["metadata"]["annotations"]["redis-platform/config-hash"]
            for name in ("cache", "cache-sentinel")}


def test_each_statefulset_rolls_only_for_its_own_config(run):
    """A redis.conf change must not restart every Sentinel at once, and a
    sentinel.conf change must not roll the data pods."""
    base = _hashes(run)
    redis_change = _hashes(sentinel_run(maxmemoryPolicy="allkeys-lru"))
    assert redis_change["cache"] != base["cache"]
    assert redis_change["cache-sentinel"] == base["cache-sentinel"]
    sentinel_change = _hashes(sentinel_run(sentinel={"downAfterMs": 3000}))
    assert sentinel_change["cache-sentinel"] != base["cache-sentinel"]
    assert sentinel_change["cache"] == base["cache"]


def test_replica_start_asks_sentinels_and_master_prestop_hands_over(run):
    sts = one(run, "StatefulSet", "cache")
    node = containers(sts)["redis"]
    assert node["command"] == sentinel_scripts.pod_command(sentinel_scripts.REDIS_START)
    pre_stop = node["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[:2] == sentinel_scripts.pod_command(sentinel_scripts.REDIS_PRESTOP)[:2]
    assert int(pre_stop[2]) < sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    # The start script sources sentinel-lib.sh from its own directory: every
    # script must be in the one mount (behaviour: tests/integration/sentinel).
    scripts_vol = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "scripts")
    assert {i["key"] for i in scripts_vol["configMap"]["items"]} == set(sentinel_scripts.SCRIPT_NAMES)


def test_probes_sidecar_security_and_placement(run):
    sts = one(run, "StatefulSet", "cache")
    pod = sts["spec"]["template"]["spec"]
    node = containers(sts)["redis"]
    assert "LOADING" in node["livenessProbe"]["exec"]["command"][-1]
    assert "master_link_status:up" in node["readinessProbe"]["exec"]["command"][-1]
    assert "master_sync_in_progress:0" in node["readinessProbe"]["exec"]["command"][-1]
    assert "repl-backlog-size 53477376" in conf(run, "redis.conf")  # 5% of small's 1Gi, whole MB
    assert "exporter" in containers(sts)
    assert sts["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    sent_pod = one(run, "StatefulSet", "cache-sentinel")["spec"]["template"]["spec"]
    assert sent_pod["affinity"]["podAntiAffinity"]
    for c in list(pod["containers"]) + list(sent_pod["containers"]):
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert c["resources"]["limits"]
        assert c.get("livenessProbe") and c.get("readinessProbe")
    sentinel_work = next(v for v in sent_pod["volumes"] if v["name"] == "work")
    assert sentinel_work["emptyDir"]["medium"] == "Memory"


def test_pdbs_and_network_policies(run):
    for name in ("cache-data", "cache-sentinel", "cache-haproxy"):
        assert one(run, "PodDisruptionBudget", name)["spec"]["maxUnavailable"] == 1
    data_pol = one(run, "NetworkPolicy", "cache-data")
    ports = [{p["port"] for p in r["ports"]} for r in data_pol["spec"]["ingress"]]
    assert {6379} in ports and 26379 not in set().union(*ports)
    sent_pol = one(run, "NetworkPolicy", "cache-sentinel")
    assert any(26379 in {p["port"] for p in r["ports"]} for r in sent_pol["spec"]["ingress"])
    peers = [r["from"][0]["podSelector"]["matchLabels"] for r in data_pol["spec"]["ingress"] if "podSelector" in r["from"][0]]
    assert {"redis-platform/deployment": "cache"} in peers
    haproxy_labels = one(run, "Deployment", "cache-haproxy")["spec"]["template"]["metadata"]["labels"]
    assert haproxy_labels["redis-platform/deployment"] == "cache"


def test_haproxy_deployment_config_and_services(run):
    dep = one(run, "Deployment", "cache-haproxy")
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]["spec"]
    assert pod["affinity"]["podAntiAffinity"]
    (c,) = pod["containers"]
    assert c["image"].startswith("haproxy:")
    # The checks log in as the haproxy ACL user; its password only by env.
    assert env_of(c)["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "cache-acl-haproxy"
    cfg = one(run, "ConfigMap", "cache-haproxy-config")["data"]["haproxy.cfg"]
    assert "AUTH haproxy ${REDIS_PASSWORD}" in cfg
    assert "tcp-check expect string role:master" in cfg or 'role:master' in cfg
    assert "inter 1s" in cfg or "inter 1000" in cfg
    assert "resolvers" in cfg and "parse-resolv-conf" in cfg
    assert "SENTINEL get-master-addr-by-name mymaster" in cfg
    assert "prometheus-exporter" in cfg
    assert f"nbthread {int(c['resources']['limits']['cpu'])}" in cfg
    ann = dep["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == "8404"
    write, read = one(run, "Service", "cache"), one(run, "Service", "cache-read")
    assert write["spec"]["type"] == "ClusterIP"
    assert write["spec"]["ports"][0]["targetPort"] == "write" and read["spec"]["ports"][0]["targetPort"] == "read"


def test_haproxy_service_type_from_config():
    run = sentinel_run(haproxy={"serviceType": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"]})
    svc = one(run, "Service", "cache")
    assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["loadBalancerSourceRanges"] == ["10.0.0.0/8"]
    run = sentinel_run(haproxy={"serviceType": "NodePort", "writeNodePort": 30379, "readNodePort": 30380})
    assert one(run, "Service", "cache")["spec"]["ports"][0]["nodePort"] == 30379
    assert one(run, "Service", "cache-read")["spec"]["ports"][0]["nodePort"] == 30380


def test_stack_outputs(run):
    out = run.outputs["redis-cache"]
    assert out["mode"] == "sentinel" and out["schemaVersion"] == 2
    assert out["writeEndpoint"] == f"cache.{DOMAIN}:6379"
    assert out["readEndpoint"] == f"cache-read.{DOMAIN}:6379"
    assert out["masterSet"] == "mymaster"
    assert out["sentinelEndpoints"][0] == f"cache-sentinel-0.cache-sentinel-headless.{DOMAIN}:26379"
    assert out["secretName"] == "cache-auth" and out["secretKey"] == "password"
    assert out["password"] == "[secret]" and out["username"] == "app"


def test_sentinel_pods_export_their_sentinel_to_prometheus(run):
    """The sentinel alerts read redis_exporter's redis_sentinel_* series: one
    exporter per Sentinel pod, asking only its own Sentinel, scraped by the
    same annotations as the data pods, and reachable by Prometheus on 9121 only."""
    sts = one(run, "StatefulSet", "cache-sentinel")
    exporter = containers(sts)["exporter"]
    env = env_of(exporter)
    assert env["REDIS_ADDR"]["value"] == "redis://127.0.0.1:26379"
    # It logs in as the Sentinels' `exporter` user, its password from a file.
    assert env["REDIS_USER"]["value"] == "exporter" and "REDIS_PASSWORD" not in env
    assert env["REDIS_PASSWORD_FILE"]["value"] == "/run/secrets/redis-exporter/password-file.json"
    (vol,) = [v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "exporter-auth"]
    assert vol["secret"]["secretName"] == "cache-acl-exporter"
    password_file = json.loads(one(run, "Secret", "cache-acl-exporter")["stringData"]["password-file.json"])
    assert "redis://127.0.0.1:26379" in password_file
    assert exporter["ports"] == [{"name": "metrics", "containerPort": 9121}]
    ann = sts["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == "9121"
    sent_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert sent_labels["app.kubernetes.io/instance"] == "cache" and sent_labels["redis-platform/team"] == "web"
    pol = one(run, "NetworkPolicy", "cache-sentinel")
    scrape_rules = [r for r in pol["spec"]["ingress"] if any(p.get("namespaceSelector") for p in r["from"])
                    and any(p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "prometheus"
                            for p in r["from"])]
    assert [{p["port"] for p in r["ports"]} for r in scrape_rules] == [{9121}]
