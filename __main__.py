"""redis-platform: Redis as a Service on Kubernetes. See README.md."""

from stacks.program import main

main()
