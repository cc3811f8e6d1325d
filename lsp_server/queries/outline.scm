; What other files contribute to a prompt (lsp_server/context.py): top-level imports and signatures.

(module (import_statement) @import)
(module (import_from_statement) @import)
(module (future_import_statement) @import)
(module (function_definition) @definition.function)
(module (decorated_definition definition: (function_definition) @definition.function))
(module (class_definition) @definition.class)
(module (decorated_definition definition: (class_definition) @definition.class))
