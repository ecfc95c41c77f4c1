"""Paper for when the network is gone: printable pages, PDFs and the binder.
"""
