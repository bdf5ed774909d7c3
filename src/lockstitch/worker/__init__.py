"""The background worker: one loop that asks each registered job for due work.

``lockstitch worker`` runs it alone; ``lockstitch serve`` embeds the same loop in the API process
(unless ``--no-worker``). Work items are rows of the app's tables, claimed with leases, so any
number of workers can share a PostgreSQL database. Jobs plug in through ``Job``.
"""
