"""The app shares its import name with supabase-py's Auth client: both must keep working.

These fail when a module of ours would shadow one of the library's (or a name it exports), or
when an upgrade of supabase-auth changes what the library exports (review, then update
LIBRARY_EXPORTS_FILE).
"""

import pkgutil
import sys
from pathlib import Path

import supabase_auth
from tests.subprocess_django import PRODUCTION_ENV, run_django, run_python

LIBRARY_EXPORTS_FILE = Path(__file__).with_name("library_exports.txt")


def library_dir() -> Path:
    (directory,) = (Path(p) for p in supabase_auth.__path__ if Path(p) != supabase_auth.APP_DIR)
    return directory


def module_names(directory: Path) -> set[str]:
    return {module.name for module in pkgutil.iter_modules([str(directory)])}


def test_the_package_path_is_ours_first_then_the_library():
    assert Path(supabase_auth.__path__[0]) == supabase_auth.APP_DIR
    assert (library_dir() / "_sync" / "gotrue_client.py").is_file()


def test_no_module_of_ours_shadows_one_of_the_library():
    ours, theirs = module_names(supabase_auth.APP_DIR), module_names(library_dir())

    assert ours, "our modules were found"
    assert {"errors", "types", "_sync"} <= theirs
    assert ours.isdisjoint(theirs)


def test_no_module_of_ours_hides_a_name_the_library_exports():
    ours = module_names(supabase_auth.APP_DIR) | {"APP_DIR", "LIBRARY_EXPORTS"}

    assert ours.isdisjoint(supabase_auth.LIBRARY_EXPORTS)


def test_the_library_exports_what_this_project_was_checked_against():
    pinned = set(LIBRARY_EXPORTS_FILE.read_text().split())

    assert set(supabase_auth.LIBRARY_EXPORTS) == pinned


def test_the_library_names_are_the_library_objects():
    from supabase_auth._sync.gotrue_client import SyncGoTrueClient

    assert supabase_auth.SyncGoTrueClient is SyncGoTrueClient
    assert supabase_auth.__version__ == sys.modules["supabase_auth.version"].__version__


def test_errors_exist_once_so_our_except_clauses_catch_what_supabase_py_raises():
    import supabase_auth.errors
    from supabase_auth._sync import gotrue_base_api

    assert gotrue_base_api.handle_exception.__module__ == "supabase_auth.helpers"
    duplicates = [name for name in sys.modules if name.startswith("supabase_auth._library.")]
    assert duplicates == []
    assert sys.modules["supabase_auth.helpers"].AuthApiError is supabase_auth.errors.AuthApiError


def test_a_fresh_interpreter_imports_both_supabase_and_our_authentication():
    result = run_python(
        PRODUCTION_ENV,
        "import supabase, supabase_auth.authentication\n"
        "from supabase_auth import SyncGoTrueClient\n"
        "from supabase_auth.authentication import SupabaseAuthentication\n"
        "print(supabase.create_client.__module__, SyncGoTrueClient.__module__)",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["supabase._sync.client", "supabase_auth._sync.gotrue_client"]


def test_manage_py_finds_the_apps_commands():
    result = run_django(PRODUCTION_ENV, "manage.py", "help", "mint_token")

    assert result.returncode == 0, result.stderr
    assert "development access token" in result.stdout.lower() or "auth.users" in result.stdout
