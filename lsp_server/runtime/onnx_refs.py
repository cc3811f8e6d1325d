"""External-data references in an ONNX model's bytes, read without the onnx package (serving lacks it).

onnxruntime resolves a tensor's external data relative to the model's folder or, for a model given as
bytes, relative to the working directory (which may be a cloned repository). A bundle must never make it
read a file that was not verified, and Quill bundles keep every weight inside model.onnx, so the bundle
loader refuses a model with any reference at all.

This walks the protobuf wire format over the messages that can hold a TensorProto: graphs, nodes and
their attributes (subgraphs included), functions, training info and sparse tensors.
"""
from __future__ import annotations

# For each message: field number -> the message kind of that length-delimited field (others are skipped).
_SCHEMA: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "function": {7: "node", 11: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "tensor": {13: "entry"},
    "entry": {},
}
_TENSOR_EXTERNAL_DATA, _TENSOR_DATA_LOCATION, _EXTERNAL = 13, 14, 1
MAX_NESTING = 64  # subgraphs in attributes can nest; a crafted model must not exhaust anything


class MalformedModel(ValueError):
    """The bytes are not a well-formed protobuf message where an ONNX model needs one."""


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= end or shift > 63:
            raise MalformedModel(f"truncated or overlong varint at byte {pos}")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def _fields(data: bytes, start: int, end: int):
    """(field number, wire type, varint value or (start, end) of the payload) of one message."""
    pos = start
    while pos < end:
        key, pos = _varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos, end)
            yield number, wire, value
            continue
        if wire == 2:
            length, pos = _varint(data, pos, end)
            size = length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
        else:
            raise MalformedModel(f"unsupported wire type {wire} at byte {pos}")
        if pos + size > end:
            raise MalformedModel(f"field {number} runs past the end of its message at byte {pos}")
        yield number, wire, (pos, pos + size)
        pos += size


def _entry(data: bytes, start: int, end: int) -> tuple[str, str]:
    """(key, value) of a StringStringEntryProto."""
    found = {1: "", 2: ""}
    for number, wire, value in _fields(data, start, end):
        if wire == 2 and number in found:
            found[number] = data[value[0]:value[1]].decode("utf-8", "replace")
    return found[1], found[2]


def external_data_locations(data: bytes) -> list[str]:
    """The `location` of every tensor stored as external data ('?' when a tensor names none)."""
    found: list[str] = []
    stack = [("model", 0, len(data), 0)]
    while stack:
        kind, start, end, depth = stack.pop()
        if depth > MAX_NESTING:
            raise MalformedModel(f"messages nest more than {MAX_NESTING} deep")
        external, location = False, None
        for number, wire, value in _fields(data, start, end):
            if kind == "tensor" and number == _TENSOR_DATA_LOCATION and wire == 0:
                external = external or value == _EXTERNAL
            elif kind == "tensor" and number == _TENSOR_EXTERNAL_DATA and wire == 2:
                external = True
                key, text = _entry(data, *value)
                location = text if key == "location" else location
            elif wire == 2 and number in _SCHEMA[kind]:
                stack.append((_SCHEMA[kind][number], value[0], value[1], depth + 1))
        if external:
            found.append(location or "?")
    return found
