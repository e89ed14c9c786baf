"""DARTS POS report plugin: frequent-buyer free goods reported from store POS systems."""
