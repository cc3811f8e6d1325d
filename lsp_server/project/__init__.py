"""The project: workspace files, their n-gram index, and the decoding mix that lets the project steer suggestions."""
