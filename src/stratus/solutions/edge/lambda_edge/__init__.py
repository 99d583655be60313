"""The Lambda@Edge CodeUri of Authorizer@Edge (``AuthorizerEdgeFunction``).

CloudFront refuses viewer-request functions over 1 MB, so this directory is the function's whole
package: :mod:`.edge_authorizer` (standard library only) and its ``authorizer.json``. On Lambda
the handler is ``edge_authorizer.handler.lambda_handler``; locally the same modules are
``stratus.solutions.edge.lambda_edge.edge_authorizer`` (the proxy imports them from there).
"""
