"""Business rules: plain functions, one transaction each, jobs enqueued after the commit."""
