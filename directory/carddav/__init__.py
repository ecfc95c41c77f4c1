"""Phones' address books kept current: read-only CardDAV with incremental sync.

Owns the CardDAV service under /dav/ (Radicale with plugins over our data,
`mount` and `plugins`), the address books each user's devices see and the
sync state behind their tokens (`books`), and the page that explains how to
add the books on a phone (`views`). Devices sign in with device passwords,
which `accounts.devices` owns.
"""
