"""Running the service: back-up and restore, demo data, synthetic regions.
"""
