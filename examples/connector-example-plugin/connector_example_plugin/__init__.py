"""An example of a plugin shipped as its own package, found through the ``connector.plugins`` entry point."""
