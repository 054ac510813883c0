"""Error and origin types shared by every stage of the SASA compiler (dissertation §4.2.1).

Every line the compiler handles keeps the file and line of the original source it came from (and,
for macro expansions, the chain of invocation sites), so each error and each listing row can name
the place in the user's source, not in a preprocessed or expanded intermediate.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """Where a line came from: file and line of the original source, plus macro invocation sites."""
    file: str
    line: int
    expanded_from: tuple[tuple[str, int, str], ...] = ()   # (file, line, macro name), outermost first

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}"
        if self.expanded_from:
            f, ln, name = self.expanded_from[-1]
            text += f" (macro {name} at {f}:{ln})"
        return text

    def site(self) -> str:
        """The outermost invocation site (the line a user sees in the kernel body) or the line itself."""
        if self.expanded_from:
            f, ln, _ = self.expanded_from[0]
            return f"{f}:{ln}"
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class SourceLine:
    """One logical line of assembly text with its origin."""
    text: str
    origin: Origin


class CompileError(ValueError):
    """A user error in the kernel source; the message starts with the original file:line."""

    def __init__(self, origin: Origin | str | None, message: str) -> None:
        self.origin = origin
        self.cause = message
        super().__init__(f"{origin}: {message}" if origin else message)


class CompileWarning:
    """A non-fatal diagnostic (e.g. an annotated pointer never used by a load)."""

    def __init__(self, origin: Origin | str | None, message: str) -> None:
        self.origin = origin
        self.message = message

    def __str__(self) -> str:
        return f"{self.origin}: warning: {self.message}" if self.origin else f"warning: {self.message}"
