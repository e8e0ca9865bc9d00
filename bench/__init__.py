"""Append benchmark: the ledger vs bare eventsourcing vs raw drivers, on SQLite and PostgreSQL.

Run ``python -m bench`` (full, ~2-3 minutes) or ``python -m bench --quick`` (smoke run).
Results go to ``bench/results.md`` and ``bench/results.json``.
"""
