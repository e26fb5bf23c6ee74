"""Everything that runs only inside DSS: the platform adapter on the ``dataiku`` package, the
webapps' backend, the LLM Mesh embeddings, and the recipes', trigger's and step's DSS halves
(reading their params and roles, then calling the core).

The plugin's entry files (custom-recipes/, webapps/, python-triggers/, python-steps/) call into
this package in a line or two. ``dataiku`` is imported inside functions, never at module import,
so every module here imports on a machine without DSS. Nothing outside this package imports it.
"""
