"""The docs beside the code: the committed reference pages (docs/reference/cli.md,
dss-parameters.md) are what docs/generate_reference.py writes from the code now, so a new CLI flag
or DSS param without its regenerated page fails here; and the README stays a short entry whose
links lead into docs/. (Links between the docs pages are checked by `make docs`, mkdocs --strict.)"""
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generator():
    spec = importlib.util.spec_from_file_location("generate_reference", ROOT / "docs" / "generate_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_reference_is_up_to_date():
    for path, text in generator().pages().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.relative_to(ROOT)} is stale: run `make docs`"


def test_every_flag_and_param_is_in_the_reference():
    """The pages name each subcommand's flags and each descriptor's params (the generator reads them all)."""
    import json

    from labelloop.standalone.cli import parser

    cli = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    commands = next(a for a in parser()._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
    for name, command in commands.choices.items():
        assert f"## `labelloop {name}`" in cli
        for action in command._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert flag in cli, f"labelloop {name} {flag} is missing from docs/reference/cli.md"
    dss = (ROOT / "docs" / "reference" / "dss-parameters.md").read_text(encoding="utf-8")
    for pattern in ("webapps/*/webapp.json", "custom-recipes/*/recipe.json", "python-steps/*/step.json",
                    "python-triggers/*/trigger.json", "parameter-sets/*/parameter-set.json"):
        for descriptor in ROOT.glob(pattern):
            for param in json.loads(descriptor.read_text(encoding="utf-8")).get("params", []):
                assert f"| `{param['name']}` |" in dss, f"{descriptor}: {param['name']} is missing"


def test_a_new_flag_makes_the_page_stale(monkeypatch):
    """Adding a flag to the parser changes the generated page, so the first test would fail."""
    from labelloop.standalone import cli

    module = generator()
    before = module.cli_page()
    original = cli.parser

    def with_new_flag():
        main = original()
        commands = next(a for a in main._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
        commands.choices["status"].add_argument("--brand-new-flag", help="a flag nobody documented")
        return main

    monkeypatch.setattr(cli, "parser", with_new_flag)
    assert "--brand-new-flag" in module.cli_page() and module.cli_page() != before
    assert module.main(["--check"]) == 1


def test_readme_is_short_and_its_links_lead_somewhere():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert any(t.startswith("docs/") for t in targets)
    for target in targets:
        if "://" not in target:
            assert (ROOT / target).is_file(), f"the README links to {target}, which does not exist"
    assert "DESIGN" not in readme  # the design document is not in the repository
