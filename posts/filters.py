"""Query filters for post lists (django-filter), documented in the OpenAPI schema."""

import django_filters
from django.db.models import Q, QuerySet

from api.filtering import StrictBooleanFilter, UTCDateTimeFilter

SEARCH_MAX_LENGTH = 200


class PostFilter(django_filters.FilterSet):
    """Filters for the public list of published posts."""

    author = django_filters.UUIDFilter(
        field_name="author_id", help_text="Only this author's posts."
    )
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=SEARCH_MAX_LENGTH,  # NUL characters are refused by the form field itself
        help_text="Case-insensitive text in the title or the content.",
    )
    created_after = UTCDateTimeFilter(
        field_name="created_at", lookup_expr="gt", help_text="Created after this ISO 8601 time."
    )
    created_before = UTCDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Created before this ISO 8601 time."
    )
    updated_after = UTCDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gt",
        help_text="Changed after this ISO 8601 time: the polling fallback for clients without "
        "realtime (pass the newest updated_at you have seen).",
    )

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(title__icontains=value) | Q(content__icontains=value))


class MyPostFilter(PostFilter):
    """Filters for the caller's own posts, drafts included."""

    published = StrictBooleanFilter(help_text="true: published only; false: drafts only.")
