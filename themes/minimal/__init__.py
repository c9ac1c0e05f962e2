"""The minimal theme for selfservice: this package's folder is the theme (just ``theme.yml``),
found through its ``selfservice.themes`` entry point."""
