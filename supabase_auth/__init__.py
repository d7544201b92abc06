"""The Django app that verifies Supabase access tokens, sharing its import name with supabase-py.

supabase-py's Auth client is also the top-level package `supabase_auth` (pip `supabase-auth`),
and `import supabase` imports it. This package extends its own path with the library's
directory (`pkgutil.extend_path`, PEP 420's predecessor for split packages) and re-exports the
library's public names, so both live under one name: `supabase_auth.errors` and
`SyncGoTrueClient` are the library's, `supabase_auth.authentication` and the rest are ours.
No module here may share a name with one of the library's (tests/supabase_auth/test_package.py).
"""

import importlib.util
import pkgutil
import sys
from pathlib import Path

__path__ = pkgutil.extend_path(__path__, __name__)

APP_DIR = Path(__file__).resolve().parent


def _load_library():
    """Run supabase-py's `supabase_auth/__init__.py` as our submodule `_library`; return it.

    Its relative imports (`from ._sync.gotrue_client import ...`) resolve against this package,
    whose path now includes the library's directory.
    """
    for entry in __path__[1:]:
        init = Path(entry) / "__init__.py"
        if Path(entry).resolve() != APP_DIR and init.is_file():
            # A plain module, not a package: its relative imports must resolve against this
            # package (one `supabase_auth.errors`), not against a copy named `_library`.
            spec = importlib.util.spec_from_file_location(
                f"{__name__}._library", init, submodule_search_locations=None
            )
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            return module
    raise ImportError("supabase-py's Auth client (pip install supabase-auth) is not installed.")


_library = _load_library()
LIBRARY_EXPORTS = frozenset(
    name for name in vars(_library) if not name.startswith("_") or name == "__version__"
) - {"annotations"}
globals().update({name: getattr(_library, name) for name in LIBRARY_EXPORTS})
