"""The platform port: what the core needs from DSS or from a local project folder.

``base.Platform`` is the interface; ``local.LocalPlatform`` implements it on files, and
``labelloop.dss.platform.DSSPlatform`` on the ``dataiku`` package (only ``labelloop.dss`` imports it).
"""
