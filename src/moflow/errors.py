"""Exceptions of the package: one base class for bad user input, with specific subclasses."""


class InputError(ValueError):
    """Bad user input. The message names the file, the sample or feature, and the fix."""


class ConfigError(InputError):
    """Bad configuration: a config key, a setting that does not apply, a sheet that contradicts it."""


class DataError(InputError):
    """Bad data: a matrix, a sample sheet row, a gene-set file."""
