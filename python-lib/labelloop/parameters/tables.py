"""One table of parameters per plugin component, declared once.

Each table names its descriptor; tests/test_parameters.py holds every table against it (names,
types, defaults, choices, bounds) and against the CLI option that takes the same parameter, and
generates the values each must refuse. The components read their config through their table,
so a check lives here and nowhere else.
"""
from __future__ import annotations

from dataclasses import replace

from labelloop.parameters.declared import Param, Table
from labelloop.sampling import DEFAULT_DIVERSITY, DIVERSITY, STRATEGIES

MAX_ANNOTATORS = 5  # more people on one item adds little to the agreement measured, and costs each a label

STRATEGY = Param("strategy", "SELECT", "margin", choices=STRATEGIES, cli=("sample", "--strategy"))
MAX_QUERIES = Param("max_queries", "INT", None, low=1, cli=("sample", "--max-queries"),
                    hint="leave it empty to keep every row")
SAMPLE_DIVERSITY = Param("diversity", "SELECT", DEFAULT_DIVERSITY, choices=tuple(DIVERSITY), cli=("sample", "--diversity"))
RANDOM_SHARE = Param("random_share", "DOUBLE", 0.1, low=0, high=1, cli=("sample", "--random-share"))
RULES_BONUS = Param("rules_bonus", "DOUBLE", 0.0, low=0, high=10, cli=("sample", "--rules-bonus"))
LLM_DISAGREEMENT = Param("llm_disagreement", "DOUBLE", 0.0, low=0, high=10, cli=("sample", "--llm-disagreement"))
CHUNK_SIZE = Param("chunk_size", "INT", 10_000, low=1, cli=("sample", "--chunk-size"))

QUERY_SAMPLER = Table(
    "custom-recipes/query-sampler/recipe.json",
    STRATEGY, MAX_QUERIES, SAMPLE_DIVERSITY, RANDOM_SHARE, RULES_BONUS, LLM_DISAGREEMENT, CHUNK_SIZE,
    Param("id_column", "COLUMN"),
)
SPARK_QUERY_SAMPLER = Table(
    "custom-recipes/query-sampler-spark/recipe.json",
    STRATEGY, replace(MAX_QUERIES, default=1000, mandatory=True, cli=(), hint=""), SAMPLE_DIVERSITY,
    RANDOM_SHARE, RULES_BONUS, LLM_DISAGREEMENT, CHUNK_SIZE,
    Param("id_column", "COLUMN", mandatory=True),
)
APPLY_RULES = Table(
    "custom-recipes/apply-rules/recipe.json",
    Param("id_column", "COLUMN"),
    Param("label_col_name", "STRING", "label"),
)
LLM_PRELABEL = Table(
    "custom-recipes/llm-prelabel/recipe.json",
    Param("llm", "LLM", mandatory=True),
    Param("task", "STRING"),
    Param("categories", "KEY_VALUE_LIST", mandatory=True),
    Param("text_column", "COLUMN"),
    Param("id_column", "COLUMN"),
    Param("label_col_name", "STRING", "label"),
    Param("sample", "INT", None, low=1, hint="leave it empty to ask about every item"),
    Param("concurrency", "INT", 4, low=1, high=64, hint="requests in flight"),
    Param("rate", "DOUBLE", 0.0, low=0, hint="requests per second, 0 for no limit"),
)
LABELING_METRICS = Table(
    "python-steps/labeling-metrics/step.json",
    Param("saved_model", "SAVED_MODEL", mandatory=True),
    Param("unlabeled", "DATASET"),
    Param("unlabeled_folder", "MANAGED_FOLDER"),
    Param("metadata_ds", "DATASET", mandatory=True),
    Param("label_col_name", "STRING", "label"),
    Param("id_column", "STRING"),
    Param("sample_size", "INT", 1000, low=1),
    Param("labels_ds", "DATASET"),
    Param("suspects_ds", "DATASET"),
    Param("text_column", "STRING"),
)
EVERY_N_LABELINGS = Table(
    "python-triggers/every-n-labelings/trigger.json",
    Param("n", "INT", 20, low=1, mandatory=True, hint="labels between retrainings"),
    Param("metadata_ds", "DATASET", mandatory=True),
    Param("queries_ds", "DATASET", mandatory=True),
    Param("refire_after_minutes", "DOUBLE", 30.0, low=0),
)

OVERLAP_SHARE = Param("overlap_share", "DOUBLE", 0.0, low=0, high=1, cli=("init", "--overlap-share"))
OVERLAP_ANNOTATORS = Param("overlap_annotators", "INT", 2, low=2, high=MAX_ANNOTATORS, cli=("init", "--overlap-annotators"))
AUDIT_SHARE = Param("audit_share", "DOUBLE", 0.1, low=0, high=1, cli=("init", "--audit-share"))


def _webapp(data_type: str, unlabeled: str, *own: Param) -> Table:
    """A labeling webapp's table: the params every webapp has, then its data type's own."""
    return Table(
        f"webapps/{data_type}-labeling/webapp.json",
        Param("unlabeled", unlabeled, mandatory=True),
        Param("categories", "KEY_VALUE_LIST", mandatory=True),
        Param("labels_ds", "DATASET", mandatory=True),
        Param("metadata_ds", "DATASET", mandatory=True),
        Param("label_col_name", "STRING", "label", cli=("init", "--label-column")),
        Param("queries_ds", "DATASET"),
        Param("saved_model", "SAVED_MODEL"),
        Param("multi_label", "BOOLEAN", False, cli=("init", "--multi-label")),
        Param("journal", "PRESET"),
        OVERLAP_SHARE,
        OVERLAP_ANNOTATORS,
        AUDIT_SHARE,
        Param("reviewers", "STRING", cli=("serve", "--reviewers")),
        Param("suspects_ds", "DATASET"),
        Param("rules_ds", "DATASET"),
        *own,
    )


_ROWS = (Param("id_column", "DATASET_COLUMN", cli=("init", "--id-column")),
         Param("columns_first", "STRING", cli=("init", "--columns-first")),
         Param("embedding_llm", "LLM"),
         Param("llm", "LLM"),
         Param("llm_task", "STRING"))
WEBAPPS = {
    "image": _webapp("image", "MANAGED_FOLDER"),
    "sound": _webapp("sound", "MANAGED_FOLDER"),
    "tabular": _webapp("tabular", "DATASET", *_ROWS),
    "text": _webapp("text", "DATASET", *_ROWS,
                    Param("text_column", "DATASET_COLUMN", mandatory=True, cli=("init", "--text-column"))),
}

TABLES = (QUERY_SAMPLER, SPARK_QUERY_SAMPLER, APPLY_RULES, LLM_PRELABEL, LABELING_METRICS, EVERY_N_LABELINGS, *WEBAPPS.values())
