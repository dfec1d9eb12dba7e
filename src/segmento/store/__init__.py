"""Knowledge base: schema, connection, ingestion with quarantine."""
