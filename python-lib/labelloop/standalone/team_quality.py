"""``labelloop quality``: the team's agreement and the labels that are probably wrong."""
from __future__ import annotations

import numpy as np

from labelloop.errors import LabelloopError
from labelloop.learning.trainer import out_of_fold_probabilities
from labelloop.quality.agreement import team_agreement
from labelloop.quality.suspects import suspects
from labelloop.standalone.project import Project
from labelloop.standalone.training import training_data


def quality_report(project: Project) -> dict:
    """``{agreement, suspects}``; ``suspects`` is None, with ``suspectsUnavailable`` saying why,
    when they cannot be computed (multi-label, or too few labels)."""
    report = {"agreement": team_agreement(project.journal)}
    try:
        report["suspects"] = suspected_errors(project)
    except LabelloopError as error:
        report["suspects"], report["suspectsUnavailable"] = None, str(error)
    return report


def suspected_errors(project: Project) -> list:
    """The labeled items whose label the built-in model, cross-validated, finds least likely."""
    item_ids, rows, labels = training_data(project)
    settings = project.settings
    classes, probabilities, kept = out_of_fold_probabilities(settings.type, rows, labels, text_column=settings.text_column,
                                                             folder=str(project.data_path))
    return suspects(np.asarray(item_ids, dtype=object)[kept].tolist(), labels[kept].tolist(), classes, probabilities)
