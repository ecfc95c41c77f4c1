"""The shared core every feature stands on: models, the database, the rules of
who may see and change what (security, visibility), audit, phone numbers,
text, moments, modes, schedules and patterns, and the base form.

Nothing in core imports a feature package.
"""
