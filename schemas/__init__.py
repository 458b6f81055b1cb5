"""Arrow schemas: the contract between ingest, the task builders and the trainer."""
from schemas import documents, labels, metadata, searchlog, tasks
from schemas.validate import SchemaError, read_table, schema_for, validate

__all__ = ["documents", "labels", "metadata", "searchlog", "tasks", "SchemaError", "read_table", "schema_for", "validate"]
