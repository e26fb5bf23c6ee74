"""Parameters given at the edges, declared once.

``numbers`` checks a whole number; ``declared`` describes one parameter (its DSS type,
default, choices and bounds) and checks a value against it; ``tables`` holds one table of them
per plugin component, which tests hold against the component's descriptor and the CLI.
"""
