"""The JSON API (/api/v1): its schemas (schemas.py), the SpecTree that checks
requests and answers against them and generates the OpenAPI document
(spec.py), its problem+json errors (errors.py), the blueprint and request
helpers (common.py), the answers (representations.py), the reads (views.py)
and the writes from one table (writes.py).
"""
