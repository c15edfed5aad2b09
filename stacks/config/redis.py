"""Redis deployments: one entry per team's Redis, cluster or sentinel mode."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from components.common.redis_acl import APP_DEFAULT_COMMANDS
from components.redis.sentinel_conf import SentinelFailover
from stacks.config.base import DeploymentName, DnsLabel, LabelKey, StrictModel, dns_subdomain
from stacks.config.cidr import Cidr
from stacks.config.cron import Schedule
from stacks.config.images import ImageRef
from stacks.config.quantities import Cpu, Memory, cpu_millicores, memory_bytes

# Exact patch versions: a default never changes under an unchanged config
# (digests are the production choice, docs/security.md). 7.2.11 carries the
# fixes for the Lua CVEs of October 2025 (CVE-2025-49844 and others).
REDIS_IMAGE = "redis:7.2.11-alpine"
EXPORTER_IMAGE = "oliver006/redis_exporter:v1.62.0"
HAPROXY_IMAGE = "haproxy:2.8.10-alpine"
FAILOVER = SentinelFailover()


class Resources(StrictModel):
    """Explicit container size. Memory request equals the limit: Redis memory is
    not elastic, and a node evicted for overcommit loses its cache."""

    cpu: Cpu
    memory: Memory
    cpu_limit: Cpu | None = None

    @model_validator(mode="after")
    def _limit_not_below_request(self) -> "Resources":
        if self.cpu_limit and cpu_millicores(self.cpu_limit) < cpu_millicores(self.cpu):
            raise ValueError(f"cpuLimit {self.cpu_limit} is below cpu {self.cpu}")
        return self

    @property
    def memory_bytes(self) -> int:
        return memory_bytes(self.memory)


# Sizes a team picks from; the seed's Sentinel deployments hold 2-10 GB.
PRESETS: dict[str, Resources] = {
    "small": Resources(cpu="250m", memory="1Gi", cpu_limit="1"),
    "medium": Resources(cpu="500m", memory="4Gi", cpu_limit="2"),
    "large": Resources(cpu="1", memory="12Gi", cpu_limit="4"),
}


class Persistence(StrictModel):
    enabled: bool = True
    size: Memory = "5Gi"
    storage_class_name: DnsLabel | None = None
    # (seconds, changes) RDB rules, as in the seed: save 900 1, 300 10, 60 10000.
    save_rules: tuple[tuple[int, int], ...] = ((900, 1), (300, 10), (60, 10000))
    appendfsync: Literal["everysec", "always", "no"] = "everysec"


class ZoneDiscovery(StrictModel):
    """The bootstrap Job reads each pod's node label `topologyKey` through the
    API (get on its pods by name, get on nodes) and spreads every shard's
    copies over zones; nodes without the label count as one zone each."""

    enabled: bool = True
    # registry.k8s.io's kubectl image (kubectl, sh, coreutils).
    image: ImageRef = "registry.k8s.io/kubectl:v1.30.14"
    topology_key: LabelKey = "topology.kubernetes.io/zone"


class ClusterTopology(StrictModel):
    shards: int = Field(default=3, ge=3, le=100)
    replicas_per_shard: int = Field(default=1, ge=0, le=5)
    node_timeout_ms: int = Field(default=5000, ge=1000, le=60000)
    # "no" measured (docs/operations.md): while one shard fails over, the
    # other shards keep taking writes; "yes" refuses them all for ~1 s.
    require_full_coverage: bool = False
    zone_discovery: ZoneDiscovery = ZoneDiscovery()


class ReplicaAutoscaling(StrictModel):
    """A HorizontalPodAutoscaler on the data pods: read replicas between
    `sentinel.replicas` and `maxReplicas`, on the redis container's CPU."""

    max_replicas: int = Field(ge=2, le=9)
    # Average CPU of the redis containers, percent of their request.
    cpu_target_percent: int = Field(default=70, ge=10, le=95)


class SentinelTopology(StrictModel):
    replicas: int = Field(default=2, ge=1, le=9)
    # Off unless set; then the autoscaler owns the replica count.
    autoscaling: ReplicaAutoscaling | None = None
    sentinels: int = Field(default=3, ge=3, le=9)
    quorum: int | None = None
    down_after_ms: int = Field(default=FAILOVER.down_after_ms, ge=1000, le=60000)
    failover_timeout_ms: int = Field(default=FAILOVER.failover_timeout_ms, ge=5000)
    parallel_syncs: int = Field(default=FAILOVER.parallel_syncs, ge=1)
    master_set: DnsLabel = FAILOVER.master_set

    @model_validator(mode="after")
    def _odd_and_quorum(self) -> "SentinelTopology":
        if self.autoscaling is not None and self.autoscaling.max_replicas <= self.replicas:
            raise ValueError(f"autoscaling.maxReplicas: {self.autoscaling.max_replicas} must be above replicas "
                             f"({self.replicas}), the autoscaler's floor")
        if self.sentinels % 2 == 0:
            raise ValueError(f"sentinels must be odd so a majority exists, got {self.sentinels}")
        if self.quorum is not None and not (self.sentinels // 2 + 1 <= self.quorum <= self.sentinels):
            raise ValueError(
                f"quorum {self.quorum} must be between a majority ({self.sentinels // 2 + 1}) and {self.sentinels}"
            )
        return self

    @property
    def failover(self) -> SentinelFailover:
        """The section as sentinel.conf takes it; no quorum set means a majority."""
        quorum = self.quorum if self.quorum is not None else self.sentinels // 2 + 1
        return SentinelFailover(master_set=self.master_set, quorum=quorum, down_after_ms=self.down_after_ms,
                                failover_timeout_ms=self.failover_timeout_ms, parallel_syncs=self.parallel_syncs)


class HAProxyFront(StrictModel):
    replicas: int = Field(default=2, ge=1, le=10)
    image: ImageRef = HAPROXY_IMAGE
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    load_balancer_source_ranges: tuple[Cidr, ...] = ()
    write_node_port: int | None = Field(default=None, ge=30000, le=32767)
    read_node_port: int | None = Field(default=None, ge=30000, le=32767)

    @model_validator(mode="after")
    def _lb_needs_ranges(self) -> "HAProxyFront":
        if self.service_type == "LoadBalancer" and not self.load_balancer_source_ranges:
            raise ValueError("serviceType LoadBalancer needs loadBalancerSourceRanges (a Redis open to the internet is a breach)")
        if self.service_type != "NodePort" and (self.write_node_port or self.read_node_port):
            raise ValueError("writeNodePort/readNodePort need serviceType NodePort")
        return self


class Placement(StrictModel):
    anti_affinity: Literal["preferred", "required"] = "preferred"
    # The seed's weights: spread over zones first, then hosts.
    zone_weight: int = Field(default=100, ge=1, le=100)
    host_weight: int = Field(default=99, ge=1, le=100)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: tuple[dict[str, str], ...] = ()


class Clients(StrictModel):
    """Who may connect: pods with these labels, in namespaces with these labels."""

    pod_selector: dict[str, str] = Field(default_factory=dict)
    namespace_selector: dict[str, str] = Field(default_factory=dict)


class DeploymentBackup(StrictModel):
    """Per deployment: whether the stack's backup runs for it, and when."""

    enabled: bool = True
    schedule: Schedule | None = None


class Migration(StrictModel):
    """Move a deployment (either mode) onto nodes with a new label
    (docs/operations.md): one `pulumi up` per step."""

    node_selector: dict[str, str] = Field(min_length=1)
    tolerations: tuple[dict[str, str], ...] = ()
    step: Literal["replicas", "promote", "retire"]


class IssuerRef(StrictModel):
    """A cert-manager issuer, as a Certificate's `issuerRef` names it. It must
    fill `ca.crt` in the Secret (a CA or Vault issuer; ACME's public
    certificates do not), since every client of the deployment verifies
    against that file."""

    name: Annotated[str, dns_subdomain()]
    kind: Literal["Issuer", "ClusterIssuer"] = "ClusterIssuer"
    group: str = "cert-manager.io"


class Tls(StrictModel):
    """TLS on every connection of the deployment (docs/security.md "TLS").
    Off unless set: it needs cert-manager and an issuer in the cluster, which
    the program does not install."""

    enabled: bool = False
    issuer: IssuerRef | None = None

    @model_validator(mode="after")
    def _issuer_when_enabled(self) -> "Tls":
        if self.enabled and self.issuer is None:
            raise ValueError("issuer: required when enabled is true (the cert-manager Issuer or ClusterIssuer that signs the deployment's certificate)")
        return self


# One ACL command rule: +cmd, -cmd, +cmd|sub, +@category, -@category.
_ACL_COMMAND = re.compile(r"^[+-]@?[a-z][a-z0-9_.-]*(\|[a-z][a-z0-9_.-]*)?$")
# A key or channel pattern: a glob without spaces (the ~ or & is added).
_ACL_PATTERN = re.compile(r"^[^\s~&%\"']+$")


def _acl_commands(value: str) -> str:
    tokens = value.split()
    if not tokens:
        raise ValueError("is empty: give command rules like '+@read +@write'")
    for token in tokens:
        if not _ACL_COMMAND.match(token.lower()):
            raise ValueError(f"{token!r} is not a command rule (+command, -command, +command|subcommand, "
                             "+@category, -@category); keys and channels go in keys/channels, passwords are generated")
    return " ".join(tokens)


def _acl_patterns(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("is empty: give at least one pattern ('*' for all)")
    for v in values:
        if not _ACL_PATTERN.match(v):
            raise ValueError(f"{v!r} is not a glob pattern (no spaces, quotes, and no leading ~ & %: they are added)")
    return values


class AppAcl(StrictModel):
    """The owning team's user: which commands (ACL rules) on which keys and
    Pub/Sub channels. The default allows every data command and nothing
    that reads or changes the server (@admin, @dangerous)."""

    commands: Annotated[str, AfterValidator(_acl_commands)] = APP_DEFAULT_COMMANDS
    keys: Annotated[tuple[str, ...], AfterValidator(_acl_patterns)] = ("*",)
    channels: Annotated[tuple[str, ...], AfterValidator(_acl_patterns)] = ("*",)


class DeploymentAcl(StrictModel):
    """ACL users (cluster mode); the internal users' rules are fixed per job."""

    app: AppAcl = Field(default_factory=AppAcl)


class RedisDeployment(StrictModel):
    name: DeploymentName
    team: DnsLabel
    mode: Literal["cluster", "sentinel"]
    namespace: DnsLabel | None = None
    # What each node runs and holds.
    size: Literal["small", "medium", "large"] | None = None
    resources: Resources | None = None
    image: ImageRef = REDIS_IMAGE
    exporter_image: ImageRef = EXPORTER_IMAGE
    maxmemory_policy: Literal[
        "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    ] = "noeviction"
    maxmemory_fraction: float = Field(default=0.7, gt=0.1, lt=0.95)
    # The shape of each mode; only the section of `mode` is read.
    cluster: ClusterTopology = Field(default_factory=ClusterTopology)
    sentinel: SentinelTopology = Field(default_factory=SentinelTopology)
    haproxy: HAProxyFront = Field(default_factory=HAProxyFront)
    # Durability. Bounded loss under a partition (off by default: with 1, a
    # master whose only replica restarts refuses writes meanwhile;
    # docs/operations.md), the AOF, and backups.
    min_replicas_to_write: int = Field(default=0, ge=0, le=9)
    min_replicas_max_lag_seconds: int = Field(default=10, ge=1, le=300)
    persistence: Persistence = Field(default_factory=Persistence)
    backup: DeploymentBackup = Field(default_factory=DeploymentBackup)
    # Where the pods run. Which StatefulSet generation holds them: <name>
    # for 0, <name>-g<N> after N node-group migrations.
    placement: Placement = Field(default_factory=Placement)
    host_network: bool = False
    generation: int = Field(default=0, ge=0, le=99)
    migration: Migration | None = None
    # Who may connect, and how.
    clients: Clients = Field(default_factory=Clients)
    tls: Tls = Field(default_factory=Tls)
    acl: DeploymentAcl = Field(default_factory=DeploymentAcl)

    @model_validator(mode="after")
    def _one_size(self) -> "RedisDeployment":
        if self.size is None and self.resources is None:
            raise ValueError("set either size (small, medium, large) or resources (cpu, memory)")
        if self.size is not None and self.resources is not None:
            raise ValueError("set size or resources, not both")
        return self

    @model_validator(mode="after")
    def _min_replicas_fit(self) -> "RedisDeployment":
        replicas = self.cluster.replicas_per_shard if self.mode == "cluster" else self.sentinel.replicas
        if self.min_replicas_to_write > replicas:
            raise ValueError(
                f"minReplicasToWrite {self.min_replicas_to_write} is more than the {replicas} replica(s) each master has: every write would be refused"
            )
        return self

    @property
    def effective_resources(self) -> Resources:
        return self.resources if self.resources is not None else PRESETS[self.size]  # type: ignore[index]
