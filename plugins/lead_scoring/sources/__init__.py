"""Extraction from the source systems into the warehouse's raw schema, with dlt."""
