"""Entry point the Pulumi CLI runs for `--policy-pack policies`.

Only this file constructs the PolicyPack: the constructor starts the gRPC
analyzer server and blocks, so nothing else (tests included) may import it.
"""

from redis_policies import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
