"""Where the app's files are, whether it runs from a checkout or from an installed wheel."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"


def resource_dir(name: str) -> Path:
    """Return the folder `name` (templates, static, translations).

    The wheel carries these inside the package; a checkout keeps them at the repository top.
    """
    installed = PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent / name
