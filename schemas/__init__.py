"""Arrow schemas: the contract between ingest, the task builders and the trainer."""
from schemas import documents, metadata, searchlog
from schemas.validate import SchemaError, read_table, schema_for, validate

__all__ = ["documents", "metadata", "searchlog", "SchemaError", "read_table", "schema_for", "validate"]
