"""HTTP views, one module per page family (pages, search, api)."""
