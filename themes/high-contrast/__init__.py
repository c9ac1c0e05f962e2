"""The high-contrast theme for selfservice: this package's folder is the theme (``theme.yml``,
``static/``), found through its ``selfservice.themes`` entry point."""
