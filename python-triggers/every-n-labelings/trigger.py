"""Every-n-labelings trigger: read the params, apply ``labelloop.learning.retrain_rule``, fire the scenario."""
from dataiku.customtrigger import get_trigger_config
from dataiku.scenario import Trigger

from labelloop.learning.retrain_rule import DEFAULT_REFIRE_MINUTES, check_metadata
from labelloop.platform.dss import DSSPlatform

config = get_trigger_config()
if check_metadata(DSSPlatform(), config["metadata_ds"], config["queries_ds"], config.get("n", 20),
                  config.get("refire_after_minutes", DEFAULT_REFIRE_MINUTES)):
    Trigger().fire()
