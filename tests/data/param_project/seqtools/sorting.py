"""Sorting helpers: `seq` is documented here."""


def sort_items(seq, key=None):
    """Sort the items by key.

    Args:
        seq: The items to work on, in any order.
        key: A function of one item that gives its sort key.

    Returns:
        A new sorted list.
    """
    return sorted(seq, key=key)


def head(seq, n: int = 1):
    """The first items.

    Args:
        seq: The seq.
        n (int): How many items to take.
    """
    return list(seq)[:n]
