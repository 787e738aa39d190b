"""Build hook: compile the gettext catalogs into the wheel, so installs are translated."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileCatalogsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return  # a checkout compiles its catalogs in place (make translations)
        root = Path(self.root)
        out = Path(tempfile.mkdtemp(prefix="kiosk-mo-"))
        for po_path in sorted(root.glob("translations/*/LC_MESSAGES/messages.po")):
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            rel = po_path.relative_to(root / "translations").with_suffix(".mo")
            mo_path = out / rel
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            build_data["force_include"][str(mo_path)] = f"kiosk/translations/{rel.as_posix()}"
