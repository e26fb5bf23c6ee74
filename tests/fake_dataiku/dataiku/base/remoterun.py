"""Whether this process runs in a container (Kubernetes, Docker) rather than on the DSS host.

DSS 9.0.5 source, core/saved_model.py: ``if remoterun._is_running_remotely():`` the model's
folder is not on this machine and is fetched into the working directory (``dataiku.container.
runner``). DSS's ``dataiku/base/remoterun.py`` (a copy of DSS's package in the search tool's code
index, without its repository's name) decides it from the working directory:
``remote-run-env-def.json`` there, with ``"runsRemotely": true``. The container's working
directory is the pod's, which goes with it (DSS 9.0.5 source, container/runner.py).
"""
from __future__ import annotations

import json
import os

_ENV_DEF = "remote-run-env-def.json"


def _is_running_remotely():
    if os.path.isfile(_ENV_DEF):
        with open(_ENV_DEF) as stream:
            return json.load(stream).get("runsRemotely", False)
    return False
