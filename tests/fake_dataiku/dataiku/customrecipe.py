"""Recipe context: roles and params of the running recipe, as DSS passes them."""
from dataiku._instance import instance


def _recipe():
    return instance().context_of("recipe")


def get_input_names_for_role(role):
    return _recipe().names("input", role)


def get_output_names_for_role(role):
    return _recipe().names("output", role)


def get_recipe_config():
    return _recipe().config_copy()
