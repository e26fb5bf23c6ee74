"""Query sampler recipe: read the roles and params, run ``labelloop.learning.query_sampler``."""
from dataiku.customrecipe import get_input_names_for_role, get_output_names_for_role, get_recipe_config

from labelloop.learning.query_sampler import Pool, answered_in_metadata, recipe_settings, run_sampler
from labelloop.platform.dss import DSSPlatform

config = get_recipe_config()
platform = DSSPlatform()
unlabeled = get_input_names_for_role("unlabeled_samples")[0]
metadata = get_input_names_for_role("labeling_metadata")
rules = get_input_names_for_role("labeling_rules")
model = get_input_names_for_role("saved_model")  # none: the unlabeled dataset is a Score recipe's output
pool = Pool(unlabeled, is_folder=platform.is_folder(unlabeled), id_column=config.get("id_column") or None,
            scored=not model)
queries = get_output_names_for_role("queries")[0]
run_sampler(
    platform,
    model=model[0] if model else None,
    pool=pool,
    queries=queries,
    answered=answered_in_metadata(platform, metadata[0] if metadata else None, queries),
    settings=recipe_settings(platform, config, pool, rules[0] if rules else None),
)
