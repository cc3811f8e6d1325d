"""Ranked sequences: methods that share their names with functions documented in sorting.py."""


class Ranked:
    def head(self, seq, n: int = 1):
        return sorted(seq, reverse=True)[:n]

    def last(self, seq):
        return sorted(seq)[0]
