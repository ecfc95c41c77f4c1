"""Looking up who to call now: home, search, actor and role pages, reverse
number lookup, and the search index behind them.
"""
