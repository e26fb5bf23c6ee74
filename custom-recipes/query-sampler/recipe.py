"""Query sampler recipe: read the roles and params, run ``labelloop.learning.query_sampler``."""
from dataiku.customrecipe import get_input_names_for_role, get_output_names_for_role, get_recipe_config

from labelloop.learning.query_sampler import (
    DEFAULT_DIVERSITY,
    Pool,
    SamplerSettings,
    answered_in_metadata,
    rules_in_dataset,
    run_sampler,
)
from labelloop.platform.dss import DSSPlatform

config = get_recipe_config()
platform = DSSPlatform()
unlabeled = get_input_names_for_role("unlabeled_samples")[0]
metadata = get_input_names_for_role("labeling_metadata")
rules = get_input_names_for_role("labeling_rules")
model = get_input_names_for_role("saved_model")  # none: the unlabeled dataset is a Score recipe's output
pool = Pool(unlabeled, is_folder=platform.is_folder(unlabeled), id_column=config.get("id_column") or None,
            scored=not model)
settings = SamplerSettings(
    strategy=config.get("strategy", "margin"),
    max_queries=config.get("max_queries"),
    diversity=config.get("diversity", DEFAULT_DIVERSITY),
    random_share=config.get("random_share", 0.1),
    chunk_size=config.get("chunk_size", 10000),
    rules=rules_in_dataset(platform, rules[0], pool) if rules else (),
    rules_bonus=config.get("rules_bonus", 0.0),
)
queries = get_output_names_for_role("queries")[0]
run_sampler(
    platform,
    model=model[0] if model else None,
    pool=pool,
    queries=queries,
    answered=answered_in_metadata(platform, metadata[0] if metadata else None, queries),
    settings=settings,
)
