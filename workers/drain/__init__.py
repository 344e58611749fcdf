"""The drain: event streams to tables, in batches, acknowledged after commit."""
