"""Pure model and rules of the AMI rollout: no I/O."""
