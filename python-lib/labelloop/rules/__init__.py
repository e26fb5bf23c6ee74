"""Labeling rules (weak supervision, DESIGN.md section 9): rules as data, their votes over a pool,
their statistics, and the label model that combines the votes into one label per item."""
