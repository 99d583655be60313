"""Solution 1: automatic AMI rollout to Auto Scaling groups."""
