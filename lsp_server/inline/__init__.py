"""The inline-completion pipeline, one stage per module: cursor (trigger and cursor context), context
(cross-file snippets), prompt, healing, stops, postprocess, typing_state (typing through a suggestion), and
pipeline, the one orchestrator. A new stage is a new module here, called from pipeline.suggest_all."""
