"""Build hook: compile the gettext catalogs into the wheel, so installs are translated."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileCatalogsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"
    #: Where the compiled catalogs wait to be copied into the wheel; removed once it is built
    #: (every build left one in the system's temporary folder).
    mo_folder: Path | None = None

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return  # a checkout compiles its catalogs in place (make translations)
        root = Path(self.root)
        out = self.mo_folder = Path(tempfile.mkdtemp(prefix="kiosk-mo-"))
        for po_path in sorted(root.glob("translations/*/LC_MESSAGES/messages.po")):
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            rel = po_path.relative_to(root / "translations").with_suffix(".mo")
            mo_path = out / rel
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            build_data["force_include"][str(mo_path)] = f"kiosk/translations/{rel.as_posix()}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self.mo_folder is not None:
            shutil.rmtree(self.mo_folder, ignore_errors=True)
            self.mo_folder = None
