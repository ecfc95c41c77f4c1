"""What needs looking after: actors due for review and roles with nobody on call.
"""
