"""PyFlink wiring: the Kafka -> enrich -> index job and the embedded files -> enrich -> NDJSON job."""
