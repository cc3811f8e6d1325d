"""Text and syntax: documents, positions (UTF-16/UTF-8/code points), tree-sitter queries, limits on hostile
input, definitions and identifiers under the cursor, lexical scans, and the one "edit parses" check."""
