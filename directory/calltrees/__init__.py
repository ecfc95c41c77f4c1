"""Call trees: building them, the rules of their steps, the tree page and drills.
"""
