"""Services return data: links and dates as a page shows them are made by views and templates
(or the small non-template helpers forum.urls and forum.dates), never by a service."""

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parent.parent / "forum" / "services"


def imported_names(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def test_services_neither_make_urls_with_url_for_nor_use_template_helpers():
    for path in sorted(SERVICES.glob("*.py")):
        names = imported_names(path)
        assert "flask.url_for" not in names, path.name
        assert not {n for n in names if n.startswith("forum.templating")}, path.name


def constructed_names(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def test_threads_posts_and_revisions_are_built_in_one_module():
    """Asking, answering, commenting and both importers share services/posts.py's builders,
    so a post is rendered, checked, revised and recorded one way whichever way it came in."""
    builders = SERVICES / "posts.py"
    for path in sorted((SERVICES.parent).rglob("*.py")):
        if path != builders:
            assert not constructed_names(path) & {"Thread", "Post", "Revision"}, path
    assert {"Thread", "Post", "Revision"} <= constructed_names(builders)
