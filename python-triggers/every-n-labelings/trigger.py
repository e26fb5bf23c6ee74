"""Every-n-labelings trigger: ``labelloop.dss.trigger`` reads the params, applies the rule, fires the scenario."""
from labelloop.dss.trigger import run_trigger

run_trigger()
