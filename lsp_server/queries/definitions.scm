; Definitions that a docstring or a generated body attaches to (lsp_server/definitions.py).
; Captures follow aider's naming: @name.definition.<kind> is the identifier a cursor must be on,
; @definition.<kind> the whole definition, @body.definition.<kind> its block.

(function_definition
  name: (identifier) @name.definition.function
  parameters: (parameters) @parameters.definition.function
  body: (block) @body.definition.function) @definition.function

(class_definition
  name: (identifier) @name.definition.class
  body: (block) @body.definition.class) @definition.class
