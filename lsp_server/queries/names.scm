; Names a buffer defines or uses, for completion items (lsp_server/names.py).
; Capture names say what the name is; the Python side maps them to CompletionItemKind.

(function_definition name: (identifier) @name.definition.function)
(class_definition name: (identifier) @name.definition.class)

(parameters (identifier) @name.definition.parameter)
(lambda_parameters (identifier) @name.definition.parameter)
(default_parameter name: (identifier) @name.definition.parameter)
(typed_parameter (identifier) @name.definition.parameter)
(typed_default_parameter name: (identifier) @name.definition.parameter)
(list_splat_pattern (identifier) @name.definition.parameter)
(dictionary_splat_pattern (identifier) @name.definition.parameter)

(assignment left: (identifier) @name.definition.variable)
(assignment left: (pattern_list (identifier) @name.definition.variable))
(assignment left: (tuple_pattern (identifier) @name.definition.variable))
(augmented_assignment left: (identifier) @name.definition.variable)
(named_expression name: (identifier) @name.definition.variable)
(for_statement left: (identifier) @name.definition.variable)
(for_statement left: (pattern_list (identifier) @name.definition.variable))
(for_in_clause left: (identifier) @name.definition.variable)
(for_in_clause left: (pattern_list (identifier) @name.definition.variable))
(as_pattern alias: (as_pattern_target (identifier) @name.definition.variable))
(except_clause (as_pattern alias: (as_pattern_target (identifier) @name.definition.variable)))

(import_statement name: (dotted_name . (identifier) @name.import))
(import_statement name: (aliased_import alias: (identifier) @name.import))
(import_from_statement name: (dotted_name (identifier) @name.import))
(import_from_statement name: (aliased_import alias: (identifier) @name.import))

(attribute) @attribute
