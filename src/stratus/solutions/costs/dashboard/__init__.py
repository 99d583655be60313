"""The costs dashboard page (served by the API at /dashboard; static on S3/CloudFront)."""
