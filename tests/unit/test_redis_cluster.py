"""RedisCluster as the real program registers it, property by property."""

from __future__ import annotations

import json

import pytest

from components.redis import cluster_scripts
from components.redis.conf import DEFAULT_MAXMEMORY_FRACTION
from tests.unit.conftest import BASE_CONFIG, run_with

GI = 2**30


def cluster_run(**dep):
    entry = {"name": "sessions", "team": "web", "mode": "cluster", "size": "small"} | dep
    return run_with(BASE_CONFIG | {"redisNamespace": "redis", "deployments": [entry]})


@pytest.fixture(scope="module")
def run():
    return cluster_run()


def pod_spec(run):
    (sts,) = run.k8s("StatefulSet", "sessions")
    return sts, sts["spec"]["template"]["spec"]


def container(run, name):
    _, pod = pod_spec(run)
    return next(c for c in pod["containers"] if c["name"] == name)


def conf_text(run) -> str:
    (cm,) = run.k8s("ConfigMap", "sessions-config")
    return cm["data"]["redis.conf"]


def bootstrap_jobs(run) -> list[dict]:
    """The bootstrap Job (not the pre-roll Job, tests/unit/test_preroll.py)."""
    return [j for j in run.k8s("Job") if "-bootstrap-" in j["metadata"]["name"]]


def conf_values(run) -> dict[str, str]:
    out = {}
    for line in conf_text(run).splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out[key] = value
    return out


def test_default_topology_is_three_masters_three_replicas(run):
    sts, _ = pod_spec(run)
    assert sts["spec"]["replicas"] == 6
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert sts["metadata"]["annotations"] == {"redis-platform/mode": "cluster", "redis-platform/replicas-per-master": "1"}
    (job,) = bootstrap_jobs(run)
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SHARDS"] == "3" and env["REPLICAS_PER_SHARD"] == "1"


def test_topology_from_config_and_job_name_follows_it():
    small = cluster_run()
    big = cluster_run(cluster={"shards": 4, "replicasPerShard": 2})
    assert pod_spec(big)[0]["spec"]["replicas"] == 12
    (job_small,), (job_big,) = bootstrap_jobs(small), bootstrap_jobs(big)
    assert job_small["metadata"]["name"] != job_big["metadata"]["name"]
    assert job_small["metadata"]["name"] == bootstrap_jobs(cluster_run())[0]["metadata"]["name"]


def test_default_image_is_official_redis_72_alpine(run):
    assert container(run, "redis")["image"] == "redis:7.2.11-alpine"
    assert container(cluster_run(image="redis:7.4.1-alpine"), "redis")["image"] == "redis:7.4.1-alpine"


def test_headless_and_client_services(run):
    (headless,) = run.k8s("Service", "sessions-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert {p["port"] for p in headless["spec"]["ports"]} == {6379, 16379}
    (client,) = run.k8s("Service", "sessions")
    assert [p["port"] for p in client["spec"]["ports"]] == [6379]
    sts, _ = pod_spec(run)
    assert sts["spec"]["serviceName"] == "sessions-headless"
    for svc in (headless, client):
        assert svc["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]


def test_pvc_per_pod_from_stack_storage_class(run):
    sts, pod = pod_spec(run)
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "standard"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    other = cluster_run(persistence={"size": "20Gi", "storageClassName": "fast"})
    (claim2,) = other.k8s("StatefulSet", "sessions")[0]["spec"]["volumeClaimTemplates"]
    assert claim2["spec"]["storageClassName"] == "fast" and claim2["spec"]["resources"]["requests"]["storage"] == "20Gi"


def test_redis_conf_from_spec(run):
    conf = conf_values(run)
    assert conf["cluster-enabled"] == "yes"
    assert conf["cluster-node-timeout"] == "5000"
    assert conf["appendonly"] == "yes" and conf["appendfsync"] == "everysec"
    assert conf["save"] == "900 1 300 10 60 10000"
    assert conf["maxmemory"] == str(int(1 * GI * DEFAULT_MAXMEMORY_FRACTION))
    assert conf["maxmemory-policy"] == "noeviction"
    assert conf["protected-mode"] == "yes"
    assert conf["cluster-preferred-endpoint-type"] == "hostname"
    assert conf["include"] == "/run/redis/runtime.conf"
    assert conf["repl-diskless-sync-max-replicas"] == "1"
    tuned = conf_values(cluster_run(
        size=None, resources={"cpu": "1", "memory": "10Gi"}, maxmemoryPolicy="allkeys-lru", maxmemoryFraction=0.5,
        cluster={"nodeTimeoutMs": 8000}, persistence={"saveRules": [[3600, 1]]},
    ))
    assert tuned["maxmemory"] == str(5 * GI)
    assert tuned["maxmemory-policy"] == "allkeys-lru"
    assert tuned["cluster-node-timeout"] == "8000"
    assert tuned["save"] == "3600 1"
    # The replication backlog follows the memory limit (conf.repl_backlog_bytes):
    # 5% of it, so a replica briefly away resumes with a partial sync.
    assert conf["repl-backlog-size"] == str(51 * 1024 * 1024)
    assert tuned["repl-backlog-size"] == str(512 * 1024 * 1024)
    # Measured default (tests/integration/cluster/test_full_coverage.py): other
    # shards keep taking writes while one fails over; bounded-loss option off.
    assert conf["cluster-require-full-coverage"] == "no"
    assert conf["min-replicas-to-write"] == "0" and conf["min-replicas-max-lag"] == "10"
    strict = conf_values(cluster_run(cluster={"requireFullCoverage": True}, minReplicasToWrite=1, minReplicasMaxLagSeconds=5))
    assert strict["cluster-require-full-coverage"] == "yes"
    assert strict["min-replicas-to-write"] == "1" and strict["min-replicas-max-lag"] == "5"


def test_announced_hostname_is_the_stable_pod_dns_name(run):
    env = {e["name"]: e for e in container(run, "redis")["env"]}
    assert env["HEADLESS_SERVICE"]["value"] == "sessions-headless"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    start = cluster_scripts.cluster_scripts()[cluster_scripts.START_SCRIPT]
    assert "cluster-announce-hostname" in start


USERS = ("app", "admin", "replication", "exporter", "backup")


def user_secrets(run) -> dict[str, dict]:
    names = {u: ("sessions-auth" if u == "app" else f"sessions-acl-{u}") for u in USERS}
    return {u: run.k8s("Secret", n)[0] for u, n in names.items()}


def test_every_user_has_its_own_generated_password_in_its_own_secret(run):
    secrets = user_secrets(run)
    passwords = {u: s["stringData"]["password"] for u, s in secrets.items()}
    assert len(set(passwords.values())) == len(USERS)
    for user, secret in secrets.items():
        assert passwords[user] in run.generated_secrets
        assert secret["stringData"]["username"] == user
    # redis_exporter's --redis.password-file: a JSON map of its URI to the password.
    exporter = secrets["exporter"]["stringData"]
    assert json.loads(exporter["password-file.json"]) == {"redis://127.0.0.1:6379": passwords["exporter"]}


def test_passwords_only_by_secret_reference_or_file(run):
    passwords = {s["stringData"]["password"] for s in user_secrets(run).values()}
    for cm in run.k8s("ConfigMap"):
        # (The zone map ConfigMap is created without data: the bootstrap Job writes it.)
        assert not any(p in text for p in passwords for text in cm.get("data", {}).values())
    for kind in ("StatefulSet", "Job", "CronJob", "Deployment"):
        for obj in run.k8s(kind):
            text = json.dumps(obj)
            assert not any(p in text for p in passwords), f"{kind} {obj['metadata']['name']} holds a password"
    _, pod = pod_spec(run)
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container(run, "redis")["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    # The redis container's own scripts (probes, preStop, repair) log in as admin.
    assert refs == {"REDISCLI_AUTH": {"name": "sessions-acl-admin", "key": "password"}}
    plain = {e["name"]: e.get("value") for e in container(run, "redis")["env"]}
    assert plain["REDIS_USER"] == "admin"
    # The start script reads every user's password from one projected volume.
    (acl,) = [v for v in pod["volumes"] if v["name"] == "acl-users"]
    sources = {s["secret"]["name"]: s["secret"]["items"] for s in acl["projected"]["sources"]}
    assert sources == {(("sessions-auth" if u == "app" else f"sessions-acl-{u}")): [{"key": "password", "path": u}] for u in USERS}
    # The exporter reads its password from a file, never from its environment.
    exporter = container(run, "exporter")
    assert not [e for e in exporter["env"] if "valueFrom" in e]
    env = {e["name"]: e["value"] for e in exporter["env"]}
    assert env["REDIS_USER"] == "exporter"
    assert env["REDIS_PASSWORD_FILE"] == "/run/secrets/redis-exporter/password-file.json"
    (vol,) = [v for v in pod["volumes"] if v["name"] == "exporter-auth"]
    assert vol["secret"]["secretName"] == "sessions-acl-exporter"
    out = run.outputs["redis-sessions"]
    assert out["password"] == "[secret]" and out["username"] == "app" and out["secretName"] == "sessions-auth"


def test_bootstrap_job_logs_in_as_admin(run):
    (job,) = bootstrap_jobs(run)
    (c,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in c["env"]}
    assert env["REDIS_USER"]["value"] == "admin"
    assert env["REDISCLI_AUTH"]["valueFrom"]["secretKeyRef"] == {"name": "sessions-acl-admin", "key": "password"}


def test_default_user_is_off_and_users_are_rendered_without_passwords(run):
    (cm,) = run.k8s("ConfigMap", "sessions-config")
    conf = cm["data"]["redis.conf"]
    assert "user default off resetpass resetkeys resetchannels -@all" in conf.splitlines()
    assert "requirepass" not in conf
    users = [l for l in cm["data"]["users.acl"].splitlines() if l.startswith("user ")]
    assert [l.split()[1] for l in users] == list(USERS)
    assert not any(">" in l or "#" in l for l in users)
    app = users[0]
    assert "-@dangerous" in app and "-@admin" in app and "~*" in app


def test_probes_do_not_kill_a_slow_node(run):
    redis = container(run, "redis")
    live = redis["livenessProbe"]
    assert live["timeoutSeconds"] >= 5
    assert live["periodSeconds"] * live["failureThreshold"] >= 60
    assert "LOADING" in live["exec"]["command"][-1]
    assert redis["startupProbe"]["periodSeconds"] * redis["startupProbe"]["failureThreshold"] >= 300
    ready = redis["readinessProbe"]["exec"]["command"][-1]
    assert "ping" in ready and "cluster_state:ok" in ready and "cluster_known_nodes" in ready
    # A replica is ready only with its link up and its sync finished
    # (behaviour: tests/integration/cluster/test_rolling.py).
    assert "master_link_status:up" in ready and "master_sync_in_progress:0" in ready


def test_placement_defaults_to_seed_weights():
    _, pod = pod_spec(cluster_run())
    anti = pod["affinity"]["podAntiAffinity"]
    weights = {t["podAffinityTerm"]["topologyKey"]: t["weight"] for t in anti["preferredDuringSchedulingIgnoredDuringExecution"]}
    assert weights == {"topology.kubernetes.io/zone": 100, "kubernetes.io/hostname": 99}
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"


def test_required_anti_affinity_selector_tolerations():
    _, pod = pod_spec(cluster_run(placement={
        "antiAffinity": "required", "nodeSelector": {"role": "redis"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "redis", "effect": "NoSchedule"}],
    }))
    (req,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert req["topologyKey"] == "kubernetes.io/hostname"
    assert pod["nodeSelector"] == {"role": "redis"}
    assert pod["tolerations"][0]["key"] == "dedicated"


def test_host_network_forces_host_anti_affinity():
    _, pod = pod_spec(cluster_run(hostNetwork=True))
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]


def test_pdb_allows_one_pod_down(run):
    (pdb,) = run.k8s("PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == pod_spec(run)[0]["spec"]["selector"]["matchLabels"]


def test_network_policy_bus_only_from_peers():
    run = cluster_run(clients={"podSelector": {"app": "web"}, "namespaceSelector": {"team": "web"}})
    (pol,) = run.k8s("NetworkPolicy", "sessions")
    rules = pol["spec"]["ingress"]
    ports_by_rule = [{p["port"] for p in r["ports"]} for r in rules]
    client_rule = next(r for r in rules if "podSelector" in r["from"][0] and r["from"][0]["podSelector"]["matchLabels"] == {"app": "web"})
    assert {p["port"] for p in client_rule["ports"]} == {6379}
    assert client_rule["from"][0]["namespaceSelector"]["matchLabels"] == {"team": "web"}
    bus_rules = [r for r, ports in zip(rules, ports_by_rule) if 16379 in ports]
    assert len(bus_rules) == 1
    assert bus_rules[0]["from"][0]["podSelector"]["matchLabels"] == {"redis-platform/deployment": "sessions"}
    mon = next(r for r in rules if r["from"][0].get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": "monitoring"})
    # Prometheus only, and only the exporter: never the data port.
    assert mon["from"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server"}
    assert {p["port"] for p in mon["ports"]} == {9121}


def test_default_clients_opt_in_by_label(run):
    (pol,) = run.k8s("NetworkPolicy", "sessions")
    selectors = [r["from"][0].get("podSelector", {}).get("matchLabels") for r in pol["spec"]["ingress"]]
    assert {"redis-platform/client-of": "sessions"} in selectors


def test_exporter_sidecar_and_scrape_annotations(run):
    sts, _ = pod_spec(run)
    ann = sts["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == "9121"
    exporter = container(run, "exporter")
    assert exporter["image"].startswith("oliver006/redis_exporter:v")
    assert exporter["ports"][0]["containerPort"] == 9121


def test_security_context_restrictive(run):
    _, pod = pod_spec(run)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    for c in pod["containers"]:
        ctx = c["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"]["drop"] == ["ALL"]
        assert ctx["runAsNonRoot"] is True
        assert "limits" in c["resources"] and "requests" in c["resources"]


def test_bootstrap_job_runs_shipped_script(run):
    (job,) = bootstrap_jobs(run)
    pod = job["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["command"] == list(cluster_scripts.BOOTSTRAP_COMMAND)
    (cm,) = run.k8s("ConfigMap", "sessions-config")
    assert cm["data"][cluster_scripts.BOOTSTRAP_SCRIPT] == cluster_scripts.cluster_scripts()[cluster_scripts.BOOTSTRAP_SCRIPT]
    assert pod["volumes"][0]["configMap"]["name"] == "sessions-config"
    # The script and the library it sources (cluster-lib.sh, shared with the repair).
    assert {i["key"] for i in pod["volumes"][0]["configMap"]["items"]} == set(cluster_scripts.BOOTSTRAP_SCRIPTS)
    assert pod["restartPolicy"] == "Never"


def _pod_hash(run) -> str:
    return pod_spec(run)[0]["spec"]["template"]["metadata"]["annotations"]["redis-platform/config-hash"]


@pytest.mark.parametrize("script, rolls", [(cluster_scripts.START_SCRIPT, True), (cluster_scripts.PREROLL_SCRIPT, False),
                                           (cluster_scripts.PREROLL_LIB, False)])
def test_pods_roll_for_the_scripts_they_mount_only(monkeypatch, script, rolls):
    base = _pod_hash(cluster_run())
    real = cluster_scripts.cluster_scripts
    monkeypatch.setattr(cluster_scripts, "cluster_scripts", lambda: {**real(), script: real()[script] + "# changed\n"})
    assert (_pod_hash(cluster_run()) != base) is rolls


def test_config_change_rolls_pods():
    a = pod_spec(cluster_run())[0]["spec"]["template"]["metadata"]["annotations"]["redis-platform/config-hash"]
    b = pod_spec(cluster_run(maxmemoryPolicy="allkeys-lru"))[0]["spec"]["template"]["metadata"]["annotations"]["redis-platform/config-hash"]
    assert a != b


def test_stack_output_shape(run):
    out = run.outputs["redis-sessions"]
    assert out["mode"] == "cluster" and out["port"] == 6379 and out["schemaVersion"] == 2
    assert out["seedEndpoints"][0] == "sessions-0.sessions-headless.redis.svc.cluster.local:6379"
    assert len(out["seedEndpoints"]) == 6
    assert out["clientService"] == "sessions.redis.svc.cluster.local"
    assert out["secretName"] == "sessions-auth" and out["secretKey"] == "password"


def test_no_persistence_uses_empty_dir_and_no_aof():
    run = cluster_run(persistence={"enabled": False})
    sts, pod = pod_spec(run)
    assert "volumeClaimTemplates" not in sts["spec"]
    assert {"name": "data", "emptyDir": {}} in pod["volumes"]
    conf = conf_values(run)
    assert conf["appendonly"] == "no" and conf["save"] == '""'


def test_master_hands_over_in_pre_stop(run):
    sts, pod = pod_spec(run)
    redis = container(run, "redis")
    assert redis["lifecycle"]["preStop"]["exec"]["command"] == list(cluster_scripts.PRESTOP_COMMAND)
    bound = int(cluster_scripts.PRESTOP_COMMAND[-1])
    assert bound < pod["terminationGracePeriodSeconds"]


def test_app_user_rules_come_from_config():
    run = cluster_run(acl={"app": {"commands": "+@read +@write -@dangerous", "keys": ["cart:*", "user:*"],
                                   "channels": ["news"]}})
    (cm,) = run.k8s("ConfigMap", "sessions-config")
    (app,) = [l for l in cm["data"]["users.acl"].splitlines() if l.startswith("user app ")]
    assert app == "user app on resetkeys resetchannels ~cart:* ~user:* &news -@all +@read +@write -@dangerous"
    # The internal users' rules do not depend on the team's.
    default = cluster_run()
    (other,) = default.k8s("ConfigMap", "sessions-config")
    internal = lambda text: [l for l in text.splitlines() if l.startswith("user ") and not l.startswith("user app ")]
    assert internal(cm["data"]["users.acl"]) == internal(other["data"]["users.acl"])
