"""The quality of a team's labels (DESIGN.md section 10): agreement between annotators and
suspected label errors.

Computations over the journal's answers and a model's probabilities: the labeling service,
the learning code and the command line all read them, so it depends on the store only.
"""
