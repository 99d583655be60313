"""The five solutions. Each is a package with domain/, service.py, entrypoints/, bootstrap.py,
infra/template.yaml and, when it has commands, a ``cli.py`` exposing ``command`` (a click
group), which ``stratus`` registers under the solution's name."""
