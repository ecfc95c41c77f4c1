"""The region's coordination: modes (ordinary/activated), collaboration
patterns and scenarios.
"""
