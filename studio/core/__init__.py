"""Studio's core: plain Python, no Django and nothing else of the project.

The graph spec and its validation, one status vocabulary, parameter coercion, recurrence
arithmetic, fingerprints, readiness ("which steps run next"), path rules and one error type.
The SDK, the workspace, the engine and the pages all decide through these modules.
"""
