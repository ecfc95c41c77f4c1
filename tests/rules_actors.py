"""Who may create, move and retire actors (merged into test_permissions.RULES).

The register of actors is the coordinators' (admins'): an actor's editors
change its entries, not whether or where it exists. Renaming is the edit form's
(`editing.actor_edit`), open to the actor's editors as well.
"""

RULES = {
    "editing.actor_new": (lambda w: "/actors/new",
                          lambda w: {"name": "Tyresö kommun", "short_name": "", "parent": "0",
                                     "kind": "municipality", "level": "regional"}, False),
    "editing.actor_move": (lambda w: f"/actors/{w.own.slug}/move",
                           lambda w: {"parent": str(w.other.id),
                                      "version": str(w.own.version)}, False),
    "editing.actor_retire": (lambda w: f"/actors/{w.own.slug}/retire",
                             lambda w: {"version": str(w.own.version)}, False),
}
