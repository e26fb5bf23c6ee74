"""Image labeling webapp backend: ``labelloop.dss.webapp_backend`` on DSS's ``app`` and params."""
from dataiku.customwebapp import get_webapp_config

from labelloop.dss.webapp_backend import serve_webapp

serve_webapp(app, "image", get_webapp_config())  # noqa: F821 - DSS binds `app` before running this file
