"""Query sampler recipe: ``labelloop.dss.sampler_recipe`` reads the roles and params and runs the sampler."""
from labelloop.dss.sampler_recipe import run_recipe

run_recipe()
