"""redis-platform's policies, importable without starting the policy server.

``policies/__main__.py`` is what builds the PolicyPack (its constructor starts
a gRPC server and never returns); tests import this package instead.
"""

from .durability import MODE_ANNOTATION, REPLICAS_ANNOTATION, prod_redis_durability
from .exposure import load_balancer_ranges, no_secrets_in_config_maps
from .workloads import HOST_NETWORK_ANNOTATION, container_limits, no_host_network, pinned_images

PACK_NAME = "redis-platform-policies"
RESOURCE_POLICIES = [container_limits, no_host_network, pinned_images, load_balancer_ranges, no_secrets_in_config_maps]
STACK_POLICIES = [prod_redis_durability]
POLICIES = RESOURCE_POLICIES + STACK_POLICIES

__all__ = [
    "HOST_NETWORK_ANNOTATION",
    "MODE_ANNOTATION",
    "PACK_NAME",
    "POLICIES",
    "REPLICAS_ANNOTATION",
    "RESOURCE_POLICIES",
    "STACK_POLICIES",
]
