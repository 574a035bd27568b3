"""financeops: import, post, reconcile and report every penny of a fintech's day."""

__version__ = "0.1.0"
