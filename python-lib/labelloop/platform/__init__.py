"""The platform port: what the core needs from DSS or from a local project folder.

``base.Platform`` is the interface; ``local.LocalPlatform`` implements it on files and
``dss.DSSPlatform`` on the ``dataiku`` package (the only module that imports it).
"""
