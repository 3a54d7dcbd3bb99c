"""`firebreak catalog check FILE`: 0 when every mitigation can work, 1 with a warning per gap
naming the service, region and field, 2 when FILE cannot be read or is invalid."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from firebreak.cli import app

CHECKOUT = Path(str(files("drills").joinpath("catalogs", "checkout.yaml")))


def _check(path: Path) -> Any:
    return CliRunner().invoke(app, ["catalog", "check", str(path)])


def test_a_catalog_whose_mitigations_can_all_be_verified_passes() -> None:
    result = _check(CHECKOUT)
    assert result.exit_code == 0, result.stderr
    assert "valid catalog: 1 services" in result.stdout and result.stderr == ""


def test_a_region_without_a_traffic_metric_is_named_with_the_shift_it_breaks(tmp_path: Path) -> None:
    data = yaml.safe_load(CHECKOUT.read_text())
    region = data["services"]["checkout"]["prod"]["regions"]["us-east-1"]
    region["metrics"] = [m for m in region["metrics"] if m.get("role") != "traffic"]
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    result = _check(path)
    assert result.exit_code == 1
    [warning] = result.stderr.splitlines()
    assert warning == (
        f"{path}: warning: services.checkout.prod.regions.us-east-1.metrics: shift_traffic (route53) "
        "away from it in us-east-1: no metric with role: traffic to verify the drain"
    )


def test_an_unreadable_or_invalid_catalog_exits_2_naming_it(tmp_path: Path) -> None:
    missing = _check(tmp_path / "none.yaml")
    assert missing.exit_code == 2 and "cannot read catalog" in missing.stderr
    invalid = tmp_path / "bad.yaml"
    invalid.write_text("services: [1, 2]\n")
    result = _check(invalid)
    assert result.exit_code == 2 and str(invalid) in result.stderr
