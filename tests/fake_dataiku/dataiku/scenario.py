"""``Trigger``: what a python trigger calls to start its scenario."""
from dataiku._instance import instance


class Trigger:
    def __init__(self):
        self._context = instance().context_of("trigger")

    def fire(self):
        self._context.fired += 1
