"""docs/architecture.md stays true: every package and every module of the run's packages is named there."""

from pathlib import Path

import ordersync

PACKAGE = Path(ordersync.__file__).parent
DOC = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_every_package_is_on_the_architecture_page():
    packages = sorted(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists())
    assert [name for name in packages if f"{name}/" not in DOC] == []


def test_every_module_of_engine_state_monday_and_ops_is_named_with_its_role():
    missing = []
    for package in ("engine", "state", "monday", "ops"):
        for module in sorted((PACKAGE / package).glob("*.py")):
            if module.stem != "__init__" and module.stem not in DOC:
                missing.append(f"{package}/{module.name}")
    assert missing == []
