"""Encryption at rest: master keys, per-conversation data keys, sealing and shredding.

Content (message bodies, notes) is sealed with AES-256-GCM under a random data key per
conversation. Data keys are wrapped by the master key and kept in the key store, a table
that lives apart from the content (on SQLite, its own file). Destroying a conversation's
data key makes every copy of its content unreadable, backups of the content included.
"""
