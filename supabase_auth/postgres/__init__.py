"""Django's PostgreSQL backend, tuned for Supabase (ENGINE "supabase_auth.postgres")."""
