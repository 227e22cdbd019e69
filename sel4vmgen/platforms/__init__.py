"""Platform facts: typed data loaded from one file per platform."""
