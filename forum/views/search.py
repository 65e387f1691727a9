"""The search page: one box in the header, results with filters, works without JavaScript."""

from flask import Blueprint, render_template, request

from forum.indexing import index_ready
from forum.services import searching, tags
from forum.services.errors import ValidationError
from forum.views.helpers import costly_limit

bp = Blueprint("search", __name__)
PER_PAGE = 10


@bp.route("/search")
@costly_limit("search")
def page():
    try:
        query = searching.parse(request.args, default_limit=PER_PAGE)
    except ValidationError as error:
        return render_template(
            "search.html",
            query=None,
            results=None,
            errors=error.field_errors,
            tags=tags.popular_tags(40),
            index_ready=True,
        ), 422
    results = searching.run(query) if query.q else None
    return render_template(
        "search.html",
        query=query,
        results=results,
        # Only the first page says "no close match": later pages are what the member asked for.
        close_match=query.offset > 0 or searching.close_match(query, results),
        errors={},
        tags=tags.popular_tags(40),
        tag_names=tags.names_for(hit.tags for hit in results.hits) if results else {},
        index_ready=index_ready(),
    )
