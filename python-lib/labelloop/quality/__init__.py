"""The quality of a team's labels (DESIGN.md section 10): agreement between annotators.

Computations over the journal's answers: the labeling service, the learning code and the
command line all read them, so this package depends on the store only.
"""
