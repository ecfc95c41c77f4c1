"""Hooks for the fuzz run (tests/test_api_fuzz.py), loaded by schemathesis.

A role's name is unique within its actor, an actor's among live actors, and
the coverage phase sends the same few names again and again: each new role
and actor gets a name of its own, so the run tests the writes and not the
same refusal over and over.
"""

import itertools

import schemathesis

_numbers = itertools.count(1)


@schemathesis.hook
def before_call(context, case, **kwargs):
    if case.method.upper() == "POST" and case.path in ("/roles", "/actors") \
            and isinstance(case.body, dict) \
            and isinstance(case.body.get("name"), str) and case.body["name"].strip():
        case.body = {**case.body, "name": f"{case.body['name']} {next(_numbers)}"}
