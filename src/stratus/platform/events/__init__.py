"""Pure converters between port values and the real AWS Lambda event JSON shapes.

The local runtime uses them to build the exact events AWS would deliver; aws adapters use the
inverse direction. No boto3 here.
"""
