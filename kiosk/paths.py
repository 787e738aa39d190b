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


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) readable by the owner only (0700).

    The instance folder holds the secret key and the SQLite database, both full of what
    visitors typed. A folder that exists already keeps the mode its administrator gave it.
    """
    if path.is_dir():
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir's mode is masked by the umask, and may be widened by nothing: set it exactly.
    path.chmod(0o700)
