"""The JSON API (/api/v1): its schemas (schemas.py), the SpecTree that checks
requests and answers against them and generates the OpenAPI document
(spec.py), its problem+json errors (errors.py) and its views (views.py).
"""
