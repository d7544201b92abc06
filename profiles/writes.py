"""Profile writes within the API roles' column grants: the name, stamped by the database.

`authenticated` may update only `name` (profiles/migrations/0003); the stamp_timestamps
trigger sets updated_at. The statement names that column alone and reads back what was
stored, in both DATABASE_RLS modes.
"""

from django.db import connections, router

from profiles.models import Profile

# A name not sent is left as it is; the row is written either way, so updated_at moves, as a
# PATCH of no fields always did. Only public columns come back: no API role may read `email`.
RENAME_SQL = """
update profiles set name = case when %(sent)s then %(name)s else name end
where id = %(id)s returning name, updated_at
"""


def rename(profile: Profile, values: dict) -> Profile:
    """Store `values["name"]` if sent; return the profile with the stored name and time."""
    params = {"sent": "name" in values, "name": values.get("name"), "id": profile.pk}
    with connections[router.db_for_write(Profile)].cursor() as cursor:
        cursor.execute(RENAME_SQL, params)
        profile.name, profile.updated_at = cursor.fetchone()
    return profile
