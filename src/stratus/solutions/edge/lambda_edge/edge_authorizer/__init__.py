"""Authorizer@Edge: JWT verification (RS256/ES256 in pure Python), claim rules, settings and
the viewer-request handler. Standard library only, and relative imports only, so the package
works both as a top-level package of the Lambda@Edge bundle and inside ``stratus``."""
