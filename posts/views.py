"""Post endpoints: a public feed, the caller's own posts, and author-only changes."""

import uuid
from contextlib import nullcontext

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.functional import SimpleLazyObject
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response

from api import openapi
from api.conditional import check_if_match, etag_for, with_etag
from api.filtering import QueryFilterBackend
from api.pagination import KeysetPagination
from api.paths import UUID_PATTERN
from api.replicas import public_read
from posts import changes, queries
from posts.filters import MyPostFilter, PostFilter
from posts.models import Post
from posts.permissions import IsAuthorOrReadOnly
from posts.serializers import PostChangesQuerySerializer, PostChangesSerializer, PostSerializer
from supabase_auth.permissions import AnonymousSignInsReadOnly

POST_EXAMPLE = OpenApiExample(
    "post",
    value={"title": "Hello, Supabase", "content": "First post.", "published": True},
    request_only=True,
)

LIST_PARAMETERS = [openapi.IF_NONE_MATCH, openapi.ETAG, *openapi.RESPONSE_HEADERS]
LIST_RESPONSES = {
    200: PostSerializer(many=True),
    304: openapi.NOT_MODIFIED,
    400: openapi.BAD_REQUEST,
    **openapi.GUARDED,
}
AUTHOR_WRITE_RESPONSES = {
    200: PostSerializer,
    **openapi.JSON_BODY,
    **openapi.GUARDED,
    403: openapi.FORBIDDEN,
    404: openapi.NOT_FOUND,
    412: openapi.PRECONDITION_FAILED,
}
WRITE_PARAMETERS = [openapi.IF_MATCH, openapi.ETAG, *openapi.RESPONSE_HEADERS]


@extend_schema_view(
    list=extend_schema(
        summary="Published posts, newest first",
        description="Anyone may read; a refused token is a 401, so send none to read "
        "anonymously. Pages follow `next` and `previous` (keyset cursors).",
        parameters=LIST_PARAMETERS,
        responses=LIST_RESPONSES,
    ),
    me=extend_schema(
        summary="The caller's posts, drafts included",
        description="Newest first, paginated like the public list.",
        parameters=LIST_PARAMETERS,
        responses=LIST_RESPONSES,
    ),
    create=extend_schema(
        summary="Create a post (the caller is its author)",
        description="The author is the caller, never taken from the body. A draft "
        "(`published` false, the default) is visible to its author only.",
        parameters=[openapi.ETAG, *openapi.RESPONSE_HEADERS],
        examples=[POST_EXAMPLE],
        responses={
            201: PostSerializer,
            **openapi.JSON_BODY,
            **openapi.GUARDED,
            403: openapi.ANONYMOUS_SIGN_IN,
        },
    ),
    retrieve=extend_schema(
        summary="A published post, or one of the caller's drafts",
        description="Anyone may read a published post; a draft is a 404 to everyone but its "
        "author. Keep the ETag to make conditional reads and safe edits.",
        parameters=[openapi.IF_NONE_MATCH, openapi.ETAG, *openapi.RESPONSE_HEADERS],
        responses={
            200: PostSerializer,
            304: openapi.NOT_MODIFIED,
            404: openapi.NOT_FOUND,
            **openapi.GUARDED,
        },
    ),
    update=extend_schema(
        summary="Replace a post (author only)",
        description="A post you cannot see is a 404; one you can see but did not write, a "
        "403. With If-Match, a post changed since you read it is a 412 and stays as it is.",
        parameters=WRITE_PARAMETERS,
        examples=[POST_EXAMPLE],
        responses=AUTHOR_WRITE_RESPONSES,
    ),
    partial_update=extend_schema(
        summary="Change some fields of a post (author only)",
        description="Only the fields sent change. Same rules as replacing it.",
        parameters=WRITE_PARAMETERS,
        responses=AUTHOR_WRITE_RESPONSES,
    ),
    destroy=extend_schema(
        summary="Delete a post (author only)",
        description="Same rules as replacing it; with If-Match, a post changed since you "
        "read it is a 412 and is not deleted.",
        parameters=[openapi.IF_MATCH, *openapi.RESPONSE_HEADERS],
        responses={
            204: None,
            **openapi.GUARDED,
            403: openapi.FORBIDDEN,
            404: openapi.NOT_FOUND,
            412: openapi.PRECONDITION_FAILED,
        },
    ),
)
class PostViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Posts, with the same visibility rules as the RLS policies on the posts table."""

    serializer_class = PostSerializer
    pagination_class = KeysetPagination
    filter_backends = [QueryFilterBackend]
    lookup_value_regex = UUID_PATTERN

    def get_permissions(self) -> list:
        if self.action in ("list", "retrieve"):
            return [AllowAny()]
        if self.action == "metadata":
            # OPTIONS is open to all; the writes it describes (DRF checks each one as a cloned
            # request) are offered only to whoever may make them.
            return [IsAuthenticatedOrReadOnly(), AnonymousSignInsReadOnly(), IsAuthorOrReadOnly()]
        return [IsAuthenticated(), AnonymousSignInsReadOnly(), IsAuthorOrReadOnly()]

    @property
    def filterset_class(self):
        return MyPostFilter if self.action == "me" else PostFilter

    def get_queryset(self) -> QuerySet:
        if self.action in ("list", "me"):
            # Built only if a filter needs it: unfiltered pages run from compiled SQL
            # (query_shape, posts/queries.py).
            return SimpleLazyObject(lambda: queries.listed(self._list_author()))
        posts = queries.visible_posts(self._user_id())
        if self._conditional_write():
            posts = posts.select_for_update(of=("self",))  # locked until the write commits
        return posts

    def _user_id(self) -> uuid.UUID | None:
        return self.request.user.id if self.request.user.is_authenticated else None

    def _list_author(self) -> uuid.UUID | None:
        """Return whose posts the list shows: the caller's for `me`, None for the public feed."""
        return self.request.user.id if self.action == "me" else None

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # Filters shape lists; a single post is found by its id alone.
        if self.action not in ("list", "me"):
            return queryset
        filtered = super().filter_queryset(queryset)
        self.filtered = filtered is not queryset
        return filtered

    @property
    def query_shape(self) -> tuple | None:
        """(key, values) of an unfiltered list, whose pages KeysetPagination runs compiled."""
        if getattr(self, "filtered", True):
            return None
        return queries.listed_shape(self._list_author())

    def _conditional_write(self) -> bool:
        """Return whether this is a write with If-Match: compared and written under a row lock."""
        return (
            self.action in ("update", "partial_update", "destroy")
            and "If-Match" in self.request.headers
        )

    def get_object(self) -> Post:
        """Return the post if the caller may see it (404 otherwise) and, to write, change it (403).

        Reads and plain writes find it with the compiled query (posts/queries.py); a write
        with If-Match locks the row and compares its ETag first.
        """
        if self._conditional_write():
            try:
                post = super().get_object()  # locked until the write commits
            except Http404:
                # With DATABASE_RLS=enforce the UPDATE policy hides others' posts from FOR
                # UPDATE: one the caller may see but not change is a 403 all the same.
                self._visible_row()
                raise
            check_if_match(self.request, etag_for(self.get_serializer(post).data))
            return post
        row = self._visible_row()
        if self.action == "retrieve":
            return row  # read only: no model instance needed
        return Post.from_db(DEFAULT_DB_ALIAS, row._fields, row)

    def _visible_row(self):
        """Return the post as a named row if the caller may see it (404) and act on it (403)."""
        row = queries.visible_post(uuid.UUID(self.kwargs["pk"]), self._user_id())
        if row is None:
            raise Http404
        self.check_object_permissions(self.request, row)
        return row

    def _write_transaction(self):
        # Only a conditional write needs the lock (and so a transaction): a plain write is
        # one UPDATE or DELETE in autocommit, last writer wins, as the client asked.
        return transaction.atomic() if self._conditional_write() else nullcontext()

    @public_read
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @public_read
    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return with_etag(super().retrieve(request, *args, **kwargs))

    def create(self, request: Request, *args, **kwargs) -> Response:
        return with_etag(super().create(request, *args, **kwargs))

    def update(self, request: Request, *args, **kwargs) -> Response:
        with self._write_transaction():
            return with_etag(super().update(request, *args, **kwargs))

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        with self._write_transaction():
            return super().destroy(request, *args, **kwargs)

    def perform_create(self, serializer: PostSerializer) -> None:
        serializer.save(author_id=self.request.user.id)

    @action(detail=False, methods=["get"])
    def me(self, request: Request) -> Response:
        return super().list(request)  # the caller's drafts: never from a replica


@extend_schema_view(
    get=extend_schema(
        summary="What changed since a cursor (the fallback when Realtime is unavailable)",
        description="Changed posts as GET /api/posts/{id} shows them, and `{id, deleted: true}` "
        "for posts you could see and can no longer (deleted, unpublished), in commit order, "
        "each post once and as it is now. Start with no `since`: you get the cursor of now; "
        "then load /api/posts/ (and /api/posts/me), and from then on ask with "
        "`since=<cursor>` and apply the changes in order: you end with what the lists show. "
        "While `more` is true, ask again at once. A cursor older than the changes this "
        "server keeps (three days unless configured otherwise) is a 410: reload and start over.",
        parameters=[
            PostChangesQuerySerializer,
            openapi.IF_NONE_MATCH,
            openapi.ETAG,
            *openapi.RESPONSE_HEADERS,
        ],
        responses={
            200: PostChangesSerializer,
            304: openapi.NOT_MODIFIED,
            400: openapi.BAD_REQUEST,
            410: openapi.error(
                "The cursor is older than the changes kept: reload the posts and start over.",
                (changes.CursorExpired.code, changes.CursorExpired.message),
            ),
            **openapi.GUARDED,
        },
    )
)
class PostChangesView(generics.GenericAPIView):
    """Changes to the posts the caller may see: published ones, and their own drafts.

    The rule is the post_changes_select_seen policy's, applied in posts/changes.py.
    """

    permission_classes = [AllowAny]
    serializer_class = PostChangesSerializer

    def get(self, request: Request) -> Response:
        query = PostChangesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user_id = request.user.id if request.user.is_authenticated else None
        page = changes.read(
            query.validated_data.get("since"), user_id, query.validated_data["page_size"]
        )
        changes.prune_if_due()
        return Response(PostChangesSerializer(page).data)
