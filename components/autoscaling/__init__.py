"""Autoscalers the composition attaches to other components' workloads."""
