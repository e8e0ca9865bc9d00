"""Webhook subscriptions: other systems receive the ledger's events by signed HTTP POST."""
