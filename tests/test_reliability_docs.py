"""docs/reliability.md names, for each of R1 to R20, the tests that check it, and those files exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"


def _sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### (R\d+)\b", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_requirement_from_r1_to_r20_has_its_own_section():
    assert sorted(_sections(), key=lambda name: int(name[1:])) == [f"R{n}" for n in range(1, 21)]


def test_every_requirement_names_test_files_that_exist():
    for name, body in _sections().items():
        named = re.findall(r"Test:(.*?)(?:\n\n|\Z)", body, flags=re.S)
        assert named, f"{name} names no test"
        files = re.findall(r"`((?:tests|benchmarks)/[\w/.-]+\.py)", " ".join(named))
        assert files, f"{name}'s Test line names no test file"
        missing = [path for path in files if not (ROOT / path).is_file()]
        assert not missing, f"{name} names test files that do not exist: {missing}"
