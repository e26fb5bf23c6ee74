"""Pre-label with an LLM recipe: ``labelloop.dss.llm_recipe`` reads the roles and params and asks the LLM Mesh."""
from labelloop.dss.llm_recipe import run_recipe

run_recipe()
