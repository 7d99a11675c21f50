"""The core's built-in plugins. They register through the ``ispc`` entry-point
group exactly like third-party plugins (see the core's pyproject.toml)."""
