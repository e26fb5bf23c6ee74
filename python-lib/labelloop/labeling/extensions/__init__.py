"""The optional features of a labeling webapp, each in its own module (``base.Extension``).

``EXTENSIONS`` is the one list of them: ``labeling/app.py`` builds those whose settings ask for
them, registers their routes, merges their parts of ``/stats`` and starts and stops them, in
``labelloop serve`` and in DSS alike. A new feature is a module here and a line below.
"""
from labelloop.labeling.extensions.datasets import Datasets
from labelloop.labeling.extensions.embeddings import Embeddings
from labelloop.labeling.extensions.groups import Groups
from labelloop.labeling.extensions.growing_pool import GrowingPool
from labelloop.labeling.extensions.media import Media
from labelloop.labeling.extensions.online import Online
from labelloop.labeling.extensions.retrain_loop import RetrainLoop
from labelloop.labeling.extensions.review import Review
from labelloop.labeling.extensions.rules import Rules
from labelloop.labeling.extensions.search import Search
from labelloop.labeling.extensions.similar import Similar

# In the order of /stats's parts, and of starting (stopping runs backwards: the datasets are flushed last).
EXTENSIONS = (
    Datasets,
    Search,
    Similar,
    Review,
    Groups,
    Rules,
    RetrainLoop,
    GrowingPool,
    Embeddings,
    Media,
    Online,
)
