"""Reminders: the mails that keep the directory true.

Owns the reminder digest (`send`, `digest`, the `flask reminders send`
command), mode switch notices (`notices`) and each person's choice of how
often they hear from the app (`/account`). Sending itself is the core's
(`core.mail`); what needs attention is the review rules' (`review.rules`).
"""
