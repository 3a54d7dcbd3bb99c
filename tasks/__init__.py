"""AWS effects: one module per capability, each mutating action as plan/apply/verify/inverse.

Only this package imports boto3.
"""
