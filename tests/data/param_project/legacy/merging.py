"""An older module, in another folder, with its own wording (Sphinx and NumPy styles)."""


def merge(seq, other):
    """Merge two sequences.

    :param seq: A list of lists.
    :param other: More lists.
    :returns: the merged list
    """
    return seq + other


def count(seq, value):
    """Count a value.

    Parameters
    ----------
    seq : list
        A list of lists.
    value : object
        What to count.
    """
    return seq.count(value)
