; Attributes a method assigns on an object, for project symbols (lsp_server/project/symbols.py):
; `self.x = ...`, `self.x: T = ...`, `self.x += ...`, `self.x, self.y = ...`.
; The code keeps those whose object is the method's first parameter.

(assignment left: (attribute) @target)
(assignment left: (pattern_list (attribute) @target))
(assignment left: (tuple_pattern (attribute) @target))
(augmented_assignment left: (attribute) @target)
