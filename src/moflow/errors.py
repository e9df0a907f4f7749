"""Exceptions of the package."""


class InputError(ValueError):
    """Bad user input. The message names the file, the sample or feature, and the fix."""
