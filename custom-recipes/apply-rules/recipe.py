"""Apply labeling rules recipe: read the roles and params, run ``labelloop.rules.recipe``."""
from dataiku.customrecipe import get_input_names_for_role, get_output_names_for_role, get_recipe_config

from labelloop.platform.dss import DSSPlatform
from labelloop.rules.recipe import apply_rules_recipe

config = get_recipe_config()
platform = DSSPlatform()
pool = get_input_names_for_role("data")[0]
labels = get_input_names_for_role("labels")
apply_rules_recipe(
    platform, pool, is_folder=platform.is_folder(pool), rules=get_input_names_for_role("rules")[0],
    weak_labels=get_output_names_for_role("weak_labels")[0], statistics=get_output_names_for_role("rule_statistics")[0],
    labels=labels[0] if labels else None, id_column=config.get("id_column") or None,
    label_column=config.get("label_col_name") or "label",
)
