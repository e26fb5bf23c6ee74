"""DSS's ``dataiku.base`` package: only what labelloop calls."""
