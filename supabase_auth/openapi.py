"""OpenAPI description of Supabase bearer authentication (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SupabaseBearerScheme(OpenApiAuthenticationExtension):
    """Let Swagger UI's "Authorize" take a pasted Supabase access token."""

    target_class = "supabase_auth.authentication.SupabaseAuthentication"
    name = "SupabaseBearer"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "A Supabase Auth access token (`session.access_token`), verified locally: "
                "HS256 with the project's legacy secret or ES256/RS256 from its JWKS; `aud` "
                "`authenticated`, `role` `authenticated`. Refused tokens get 401 with "
                '`WWW-Authenticate: Bearer error="invalid_token"` and a `code`.'
            ),
        }
