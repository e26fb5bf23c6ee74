"""DSS's ``dataiku.core`` package: only the backend calls labelloop makes directly."""
