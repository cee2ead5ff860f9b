"""Where templates come from: the user's ``templates_dir`` over the built-in ones.

A ``templates_dir`` holds only the files it changes: a name is looked up there first,
then among the built-in templates (the repository's ``templates/``).  The built-ins
are also reachable as ``builtin/<name>``, so an override can extend the file it
replaces without extending itself::

    {# my-templates/email/digest.html.j2 #}
    {% extends "builtin/email/digest.html.j2" %}
    {% block intro %}<p>Good morning from the desk.</p>{{ super() }}{% endblock %}
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PrefixLoader

#: the templates shipped with distributor
BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
#: the prefix that names a built-in template from an override
BUILTIN_PREFIX = "builtin"


def template_loader(templates_dir: Path, area: str = "") -> BaseLoader:
    """The loader of ``area`` (``""`` for mail, social and archive; ``"web"`` for the
    pages): ``templates_dir/area`` first, the built-ins after, and ``builtin/...``."""
    builtin = FileSystemLoader(str(BUILTIN_TEMPLATES / area))
    prefixed = PrefixLoader({BUILTIN_PREFIX: builtin}, delimiter="/")
    if templates_dir.resolve() == BUILTIN_TEMPLATES.resolve():
        return ChoiceLoader([builtin, prefixed])
    return ChoiceLoader([FileSystemLoader(str(templates_dir / area)), builtin, prefixed])
