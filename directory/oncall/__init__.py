"""The region at a glance: the on-call board and the one-page communications list.

`board` answers, for every actor's duty roles at once, who is on call now,
on which number for the mode in force, until when and who is next; `comms`
lays the same rows out as an ICS 205A-style list on landscape A4 with the
printing feature's PDF machinery. Schedules, modes and the visibility rule
come from the core, unchanged.
"""
