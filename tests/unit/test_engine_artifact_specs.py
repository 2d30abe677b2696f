"""The engine's variants and the master's settings are declared once, consistently."""

import importlib.util
import os

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load_yaml(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


def builder():
    spec = importlib.util.spec_from_file_location("build_artifact", os.path.join(REPO, "native", "build_artifact.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def role_plan():
    spec = importlib.util.spec_from_file_location(
        "transfer_engine_plan", os.path.join(REPO, "plugins", "module_utils", "transfer_engine_plan.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_role_and_builder_agree_on_the_official_builds():
    role = role_plan().DISTRIBUTIONS
    assert role == builder().DISTRIBUTIONS
    assert role_plan().package_name("0.3.13.post1", "cuda12") == builder().package_name(
        builder().parse_args(["--version", "0.3.13.post1", "--variant", "cuda12", "--out", "/nonexistent", "--arch", "amd64"]))


def test_the_default_variant_has_an_official_build():
    defaults = load_yaml("roles", "transfer_engine", "defaults", "main.yml")
    assert defaults["mooncake_transfer_engine_variant"] in builder().DISTRIBUTIONS


def test_the_builder_rejects_bad_input_before_building(tmp_path, capsys):
    module = builder()
    for argv, message in [
        (["--version", "v1", "--variant", "non-cuda"], "--version 'v1'"),
        (["--version", "1.0", "--variant", "Non_CUDA"], "--variant 'Non_CUDA'"),
        (["--version", "1.0", "--variant", "cuda11"], "has no official build"),
        (["--version", "1.0", "--variant", "non-cuda", "--python", "3"], "--python '3'"),
    ]:
        try:
            module.parse_args(argv + ["--out", str(tmp_path), "--arch", "amd64"])
        except SystemExit as exit_:
            assert exit_.code == 1
        else:
            raise AssertionError("accepted %s" % argv)
        assert message in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_master_argument_specs_match_the_literal_defaults():
    defaults = load_yaml("roles", "master", "defaults", "main.yml")
    options = load_yaml("roles", "master", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    for name, value in defaults.items():
        if isinstance(value, str) and "{{" in value:
            assert "default" not in options[name], name
        else:
            assert options[name]["default"] == value, name


def test_transfer_engine_argument_specs_cover_every_default():
    defaults = load_yaml("roles", "transfer_engine", "defaults", "main.yml")
    specs = load_yaml("roles", "transfer_engine", "meta", "argument_specs.yml")["argument_specs"]
    assert set(defaults) == set(specs["main"]["options"])
    assert set(specs["artifact"]["options"]) <= set(defaults)
