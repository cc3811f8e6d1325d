; Parameters of a parameter list, in order (lsp_server/definitions.py).

(parameters
  [(identifier)
   (typed_parameter)
   (default_parameter)
   (typed_default_parameter)
   (list_splat_pattern)
   (dictionary_splat_pattern)] @parameter)
