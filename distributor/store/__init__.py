"""Persistence: stories, subscribers, editions and the delivery ledger."""

from distributor.store.repository import ClaimedDelivery, ClaimedPost, LedgerCounts, Store

__all__ = ["ClaimedDelivery", "ClaimedPost", "LedgerCounts", "Store"]
