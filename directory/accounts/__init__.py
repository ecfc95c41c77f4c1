"""Accounts: signing in and out, users and settings (admin), API and feed
tokens, and the users command.
"""
