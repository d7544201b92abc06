"""What Supabase's API roles may do to a table's columns, read from Postgres's catalog."""

from django.db import connection


def granted_columns(table: str, role: str, privilege: str) -> set[str]:
    """Return the columns of table on which role holds privilege (SELECT, INSERT, UPDATE)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "select column_name from information_schema.column_privileges "
            "where table_name = %s and grantee = %s and privilege_type = %s",
            [table, role, privilege],
        )
        return {row[0] for row in cursor.fetchall()}
