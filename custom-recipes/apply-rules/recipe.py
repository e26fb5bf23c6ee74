"""Apply labeling rules recipe: ``labelloop.dss.rules_recipe`` reads the roles and params and applies the rules."""
from labelloop.dss.rules_recipe import run_recipe

run_recipe()
