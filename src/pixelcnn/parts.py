"""Named, registered parts of a model: likelihoods, input encoders, presets.

A part is chosen in a config by a *spec*: its name, or a mapping with a name
and options (``"categorical"``, ``{"name": "logistic-mixture", "mixtures":
10}``). A :class:`Registry` maps names to classes, builds a part from its spec
as ``cls(**fixed, **options)`` (``fixed`` being what the model decides, such
as ``levels`` and ``colours``) and checks the options against the class's
signature first, so a wrong option is one line before any work.

Other installed packages add parts through entry points: the group of a
registry (``pixelcnn.likelihoods``, ``pixelcnn.models``) is read the first
time a name is not found or the names are listed. An entry point loads a
module that registers its parts, or a class that is then registered under
the entry point's name. A plug-in that fails to import is named, with its
error, in the line about an unknown name; everything else keeps working.
"""

from __future__ import annotations

import inspect
import logging
from importlib import metadata

from pixelcnn.errors import ConfigError

log = logging.getLogger("pixelcnn")


class Registry:
    """Classes of one kind of part by name, with plug-ins from entry-point ``group``."""

    def __init__(self, kind: str, group: str | None = None, *, fixed: tuple[str, ...] = ()):
        self.kind, self.group, self.fixed = kind, group, fixed
        self._classes: dict[str, type] = {}

    def register(self, name: str):
        """Class decorator: make ``cls`` available as ``name`` (its ``name`` attribute is set)."""

        def add(cls):
            self._classes[name] = cls
            cls.name = name
            return cls

        return add

    def names(self) -> list[str]:
        """Registered names, plug-ins included."""
        self._load_plugins()
        return list(self._classes)

    def get(self, name: str) -> type:
        """The class registered as ``name``; one line naming the known ones otherwise."""
        if name not in self._classes:
            self._load_plugins()
        if name not in self._classes:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self._classes)}"
                              f"{plugin_note(self.group) if self.group else ''}")
        return self._classes[name]

    def spec(self, value, key: str | None = None) -> dict:
        """``value`` (a name or a mapping with ``name`` and options) as ``{"name": ..., **options}``,
        with the name registered and every option one the class takes."""
        key = key or self.kind
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            raise ConfigError(f"{key} must be a name or a mapping with a name and options, "
                              f"like {{name: ..., option: value}}; got {value!r}")
        cls = self.get(value["name"])
        options = sorted(set(value) - {"name"})
        taken = self.options(cls)
        wrong = [o for o in options if o not in taken]
        if wrong:
            takes = f"it takes {', '.join(taken)}" if taken else "it takes no options"
            raise ConfigError(f"{key}: the {self.kind} {value['name']!r} has no option {', '.join(wrong)}; {takes}")
        return {"name": value["name"], **{o: value[o] for o in options}}

    def options(self, cls: type) -> list[str]:
        """The keyword options of ``cls`` beyond what the model fixes."""
        params = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in params if p.name != "self" and p.name not in self.fixed
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    def build(self, value, **fixed):
        """The part ``value`` names, constructed with ``fixed`` and its options."""
        spec = self.spec(value)
        options = {k: v for k, v in spec.items() if k != "name"}
        try:
            return self._classes[spec["name"]](**fixed, **options)
        except TypeError as e:  # an option of the wrong type inside the class
            raise ConfigError(f"{self.kind} {spec['name']!r}: {e}") from None

    def _load_plugins(self) -> None:
        if self.group:
            load_plugins(self.group, self._add_plugin)

    def _add_plugin(self, name: str, cls: type) -> None:
        if name not in self._classes:  # a class may have registered itself on import
            self.register(name)(cls)


_PLUGINS: dict[str, dict[str, str]] = {}  # entry-point group -> {plug-in name: "ok" or why it failed}


def load_plugins(group: str, register=None) -> dict[str, str]:
    """Load the entry points of ``group`` not loaded yet: a module (it registers its parts on
    import), a function (called: it registers them) or a class (``register(name, cls)``).
    Returns every plug-in of the group seen so far, with "ok" or why it failed."""
    seen = _PLUGINS.setdefault(group, {})
    for ep in metadata.entry_points(group=group):
        if ep.name in seen:
            continue
        try:
            loaded = ep.load()
            if inspect.isclass(loaded):
                if register is None:
                    raise TypeError(f"a {group} entry point must name a module or a function, not a class")
                register(ep.name, loaded)
            elif callable(loaded):
                loaded()
            seen[ep.name] = "ok"
        except Exception as e:  # noqa: BLE001 - a broken plug-in must not break the library
            seen[ep.name] = f"failed: {type(e).__name__}: {e}"
            log.warning("the %s plug-in %r (%s) failed to load: %s: %s", group, ep.name, ep.value, type(e).__name__, e)
    return seen


def plugin_note(group: str) -> str:
    """The tail of an unknown-name line: the installed plug-ins of ``group`` and their state."""
    plugins = load_plugins(group)
    if not plugins:
        return f" (no {group} plug-ins installed)"
    listed = ", ".join(name + ("" if state == "ok" else f" ({state})") for name, state in plugins.items())
    return f"; installed {group} plug-ins: {listed}"


def merge_spec(base, change) -> dict | str:
    """A spec ``base`` changed by ``change``: a new name replaces it (and its options);
    options alone (a mapping without a name, or with the same name) update it."""
    if isinstance(change, str):
        change = {"name": change}
    if not isinstance(change, dict):
        return change  # not a spec: the registry's check says so
    base = {"name": base} if isinstance(base, str) else dict(base) if isinstance(base, dict) else {}
    if "name" in base and change.get("name", base["name"]) != base["name"]:
        return dict(change)
    return {**base, **change}
