"""Each organisation keeps its own entries current: forms and pages to create,
change, delete and restore actors, persons, roles, contact paths, shifts,
overrides and rotations, and their history.
"""
