"""Persistence: the merchants' catalogue in a database, product images in a blob store.

One module per responsibility; functions take a `Store` (context.py), or a `MerchantContext` when
they act on one merchant's data, and return plain records (records.py), never ORM rows:

- accounts.py: merchant accounts and their API keys
- products.py: products, validated with their images before anything is stored
- calibration.py: where a glasses product's lenses are
- origins.py: the web origins allowed to embed a merchant's try-on
- analytics.py: widget event counts
- maintenance.py: start-up housekeeping (unreferenced blobs, the demo merchant)
- catalog.py: a merchant's products as renderers, for shoppers and previews
"""
