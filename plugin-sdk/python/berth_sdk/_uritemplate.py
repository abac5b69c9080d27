"""RFC 6570 URI templates, the subset MCP resource templates use, for matching.

Expressions: simple ``{var}``, reserved ``{+var}``, fragment ``{#var}``, path segment
``{/var}``, label ``{.var}``, query ``{?a,b}`` and continuation ``{&a}``. Value modifiers
(``:3``, ``*``) are refused, as in the Rust SDK.
"""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import parse_qsl, unquote

_EXPR = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$")


class TemplateError(ValueError):
    pass


class UriTemplate:
    def __init__(self, template: str):
        self.template = template
        self.variables: list[str] = []
        self.query: list[str] = []
        pattern = ""
        pos = 0
        self._groups: list[tuple[str, str]] = []
        for match in _EXPR.finditer(template):
            literal = template[pos:match.start()]
            if "{" in literal or "}" in literal:
                raise TemplateError(f"unbalanced brace in `{template}`")
            pattern += re.escape(literal)
            pos = match.end()
            body = match.group(1)
            op = body[:1] if body[:1] in "+#/.?&;" else ""
            names = body[len(op):].split(",")
            for name in names:
                if name.endswith("*") or ":" in name:
                    raise TemplateError(
                        f"`{{{body}}}` in `{template}` uses a value modifier (`*` or `:n`), "
                        f"which is not supported")
                if not _NAME.match(name):
                    raise TemplateError(f"`{{{body}}}` in `{template}` has a bad variable name")
                if name in self.variables:
                    raise TemplateError(f"`{name}` appears twice in `{template}`")
                self.variables.append(name)
            if op in ("?", "&", ";"):
                if op == ";":
                    raise TemplateError(f"`{{;…}}` in `{template}` is not supported")
                self.query.extend(names)
                lead = r"\?" if op == "?" else "&"
                group = f"q{len(self._groups)}"
                self._groups.append((group, "query:" + ",".join(names)))
                pattern += f"(?:{lead}(?P<{group}>[^#]*))?"
                continue
            group = f"g{len(self._groups)}"
            self._groups.append((group, ",".join(names)))
            if op == "":
                pattern += f"(?P<{group}>[^/?#]+)"
            elif op == "+":
                pattern += f"(?P<{group}>.+?)"
            elif op == "#":
                pattern += f"(?:#(?P<{group}>.*))?"
            elif op == "/":
                pattern += f"(?:/(?P<{group}>[^/?#]*))?"
            elif op == ".":
                pattern += rf"(?:\.(?P<{group}>[^/?#.]*))?"
        tail = template[pos:]
        if "{" in tail or "}" in tail:
            raise TemplateError(f"unbalanced brace in `{template}`")
        pattern += re.escape(tail)
        self._regex = re.compile("^" + pattern + "$", re.S)

    def match(self, uri: str) -> Optional[dict]:
        """The variables of ``uri`` if it matches (absent ones left out), else None."""
        found = self._regex.match(uri)
        if not found:
            return None
        out: dict = {}
        for group, names in self._groups:
            raw = found.group(group)
            if raw is None:
                continue
            if names.startswith("query:"):
                allowed = names[len("query:"):].split(",")
                for key, value in parse_qsl(raw, keep_blank_values=True):
                    if key not in allowed:
                        return None
                    out[key] = value
                continue
            parts = names.split(",")
            values = raw.split(",") if len(parts) > 1 else [raw]
            for name, value in zip(parts, values):
                out[name] = unquote(value)
        return out
