"""Admin for posts: moderation with search, filters and bulk publishing."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from posts.models import Post


class PostAdminForm(forms.ModelForm):
    class Meta:
        model = Post
        fields = ("author", "title", "content", "published")
        widgets = {"title": forms.TextInput(attrs={"size": 80})}


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    form = PostAdminForm
    list_display = ("title", "author_email", "published", "created_at", "updated_at")
    list_filter = ("published", "created_at", "updated_at")
    list_select_related = ("author",)
    search_fields = ("title", "content", "author__email")
    date_hierarchy = "created_at"
    autocomplete_fields = ("author",)
    readonly_fields = ("id", "created_at", "updated_at")
    actions = ("publish", "unpublish")
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over a large table on every page

    @admin.display(description="author", ordering="author__email")
    def author_email(self, post: Post) -> str:
        return str(post.author)

    @admin.action(description="Publish selected posts", permissions=["change"])
    def publish(self, request, queryset) -> None:
        self._set_published(request, queryset, True)

    @admin.action(description="Unpublish selected posts", permissions=["change"])
    def unpublish(self, request, queryset) -> None:
        self._set_published(request, queryset, False)

    def _set_published(self, request, queryset, published: bool) -> None:
        changed = queryset.exclude(published=published).update(
            published=published, updated_at=timezone.now()
        )
        state = "published" if published else "unpublished"
        self.message_user(request, f"{changed} post(s) {state}.", messages.SUCCESS)
