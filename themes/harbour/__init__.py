"""The harbour theme for selfservice: this package's folder is the theme (``theme.yml``,
``static/``, ``templates/``), found through its ``selfservice.themes`` entry point."""
