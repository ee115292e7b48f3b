"""The one exception type users see for bad input.

Scripts catch `UserError` and print its message as a single line (no
traceback); library callers can catch it like the `ValueError` it is.
"""


class UserError(ValueError):
    """Bad input from the user: the message says what was wrong and the fix."""
