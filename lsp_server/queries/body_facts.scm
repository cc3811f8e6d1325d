; What a function body does, for the generated docstring's sections (lsp_server/definitions.py).
; Nodes inside nested functions, lambdas and classes are captured too; the code keeps only those whose
; nearest enclosing scope is the definition being documented.

(raise_statement) @raise
(yield) @yield
(return_statement (_)) @return.value
