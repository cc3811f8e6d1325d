"""Typed errors of the Quill server; the LSP layer converts them to protocol errors in one place."""


class QuillError(Exception):
    """Base class of every error Quill raises on purpose."""


class PositionOutOfRange(QuillError):
    """A position or offset that no clamping can make valid (for example a negative line)."""


class ModelUnavailable(QuillError):
    """The completion model could not be loaded or is not ready."""


class BundleCorrupt(QuillError):
    """A model bundle failed its manifest or checksum verification."""


class DocumentNotOpen(QuillError):
    """A request named a document URI that the client has not opened."""


class InputTooComplex(QuillError):
    """A document too large, deep or broken at a position for a feature to answer within its bounds."""
