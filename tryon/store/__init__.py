"""Persistence: the merchants' catalogue in a database, product images in a blob store."""
