"""Thin Lambda handlers of the AMI rollout."""
