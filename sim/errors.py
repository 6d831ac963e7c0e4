"""The one error type for bad user input.

Why: library code never prints or exits. It raises ``InputError`` naming the file and
the field; the command line turns it into one line on stderr and exit code 2, with no
traceback, while programs that import ``sim`` can catch it.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad user input: which file, which field, what is wrong."""

    def __init__(self, file: str, field: str, message: str):
        self.file = str(file)
        self.field = str(field)
        self.message = message
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"
