"""Search helpers: `seq` is used here without a docstring."""


def find_first(seq, target, start: int = 0):
    for i, item in enumerate(seq[start:], start):
        if item == target:
            return i
    raise ValueError(target)

