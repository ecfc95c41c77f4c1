"""Who may print a new binder revision (merged into test_permissions.RULES).

Recording a revision is the only printing route that writes; previews and
recorded revisions are read by everyone signed in. The regional binder is
the coordinators' (admins'); an actor's binder is also its editors'. Both
answer 303 See Other to the revision's PDF.
"""

RULES = {
    "printing.binder_record": (lambda w: "/binder/revisions", lambda w: {"mode": "ordinary"},
                               False, {"success": (303,)}),
    "printing.actor_binder_record": (lambda w: f"/actors/{w.own.slug}/binder/revisions",
                                     lambda w: {"mode": "", "at": "2026-12-24"}, True,
                                     {"success": (303,)}),
}
