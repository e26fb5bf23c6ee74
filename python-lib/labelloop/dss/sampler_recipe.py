"""The DSS half of the Query sampler recipe (custom-recipes/query-sampler/): its roles and params
read, then ``labelloop.learning.query_sampler`` run on the DSS platform."""
from __future__ import annotations

from labelloop.dss.platform import DSSPlatform
from labelloop.learning.query_sampler import (
    Pool,
    SamplerSettings,
    answered_in_metadata,
    llm_answers_in_dataset,
    rules_in_dataset,
    run_sampler,
)
from labelloop.parameters.tables import QUERY_SAMPLER
from labelloop.platform.base import Platform
from labelloop.store.item_sources import items_at


def recipe_settings(platform: Platform, params: dict, pool: Pool, rules: str | None,
                    llm_answers: str | None = None) -> SamplerSettings:
    """The settings a Query sampler recipe's checked params and optional inputs give (both engines' recipes)."""
    return SamplerSettings(
        strategy=params["strategy"], max_queries=params["max_queries"], diversity=params["diversity"],
        random_share=params["random_share"], chunk_size=params["chunk_size"], rules_bonus=params["rules_bonus"],
        rules=rules_in_dataset(platform, rules, pool) if rules else (),
        llm_disagreement=params["llm_disagreement"],
        llm_answers=llm_answers_in_dataset(platform, llm_answers) if llm_answers and params["llm_disagreement"] else {},
    )


def run_recipe() -> dict:
    """What the recipe's ``recipe.py`` does; returns the sampler's summary."""
    from dataiku.customrecipe import get_input_names_for_role, get_output_names_for_role, get_recipe_config

    config = QUERY_SAMPLER.read(get_recipe_config())
    platform = DSSPlatform()
    unlabeled = get_input_names_for_role("unlabeled_samples")[0]
    metadata = get_input_names_for_role("labeling_metadata")
    rules = get_input_names_for_role("labeling_rules")
    answers = get_input_names_for_role("llm_answers")
    model = get_input_names_for_role("saved_model")  # none: the unlabeled dataset is a Score recipe's output
    pool = Pool(unlabeled, items_at(platform, unlabeled, config["id_column"] or None),
                scored=not model)
    queries = get_output_names_for_role("queries")[0]
    return run_sampler(
        platform,
        model=model[0] if model else None,
        pool=pool,
        queries=queries,
        answered=answered_in_metadata(platform, metadata[0] if metadata else None, queries),
        settings=recipe_settings(platform, config, pool, rules[0] if rules else None, answers[0] if answers else None),
    )
