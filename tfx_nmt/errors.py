"""The base class of errors whose message tells the user everything needed to act on them."""


class UserError(Exception):
    """Bad input, a missing corpus, a held output directory, a data anomaly: the user fixes the cause.

    The command line prints such an error as one message, without a Python traceback, and exits with
    status 1. Subclasses name the file, line or resource and the reason in their message.
    """


class ConfigError(UserError, ValueError):
    """A configuration value (a RunConfig field, a command-line flag) is not one of the allowed values."""
