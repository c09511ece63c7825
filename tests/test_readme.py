"""The README stays short and true: the two commands, a results table with its command, and
links that lead somewhere."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_gives_the_two_commands():
    block = re.search(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    assert block is not None
    assert re.search(r"^make run\b", block.group(1), flags=re.MULTILINE)
    assert re.search(r"^make test\b", block.group(1), flags=re.MULTILINE)


def test_readme_results_table_comes_with_the_command_that_made_it():
    section = README[README.index("## Results") :]
    command = re.search(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert command is not None and "experiments/study196.sh" in command.group(1)
    table = section[command.end() :]
    assert re.search(r"^\| model \|.*test top-1", table, flags=re.MULTILINE)
    assert (ROOT / "experiments" / "study196.sh").is_file()


def test_readme_links_lead_to_files_in_the_repository():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if "://" not in link]
    assert any(link.startswith("docs/") for link in local)
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_readme_is_short():
    assert len(README.splitlines()) <= 100
