import pytest

from pixelcnn.config import apply_overrides, from_dict, load_file, resolve, to_dict
from pixelcnn.errors import ConfigError


def test_overrides_parse_values_and_route_model_fields():
    cfg = resolve(None, ["train.lr=3e-4", "model.name=gated-pixelcnn", "model.hidden=96", "data.levels=2",
                         "train.betas=[0.5, 0.9]", "train.progress=false"])
    assert cfg.train.lr == 3e-4 and cfg.model.name == "gated-pixelcnn"
    assert cfg.model.overrides == {"hidden": 96}
    assert cfg.data.levels == 2 and cfg.train.betas == (0.5, 0.9) and cfg.train.progress is False


def test_config_round_trips_and_files(tmp_path):
    cfg = resolve(None, ["train.lr=0.01", "model.layers=3"])
    assert from_dict(to_dict(cfg)) == cfg
    (tmp_path / "a.yaml").write_text("train:\n  lr: 0.5\nmodel:\n  name: pixelcnn\n")
    assert resolve(str(tmp_path / "a.yaml"), ["train.batch_size=8"]).train.lr == 0.5
    (tmp_path / "b.json").write_text('{"data": {"levels": 16}}')
    assert resolve(str(tmp_path / "b.json"), []).data.levels == 16


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["train.lr"], "section.key=value"),
        (["optim.lr=1"], "section.key=value"),
        (["train.speed=1"], r"unknown train setting\(s\) \['speed'\]"),
        (["train.lr=fast"], "train.lr must be a number"),
        (["data.binarize=dynamic"], "needs data.levels = 2"),
        (["train.epochs=0"], "set at least one of"),
        (["train.schedule=cosine"], "needs train.max_steps"),
    ],
)
def test_bad_configs_get_one_clear_line(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve(None, overrides)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_file(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_file(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="unknown config section"):
        from_dict(apply_overrides({"optimiser": {}}, []))


def _outside(allowed, default):
    """A value of the default's type just outside ``allowed``."""
    if allowed.choices:
        return "nonsense" if isinstance(default, str) else max(allowed.choices) + 7
    if allowed.low is not None:
        step = 0 if allowed.low_open else (1 if isinstance(allowed.low, int) else 1e-6)
        return type(allowed.low)(allowed.low - step)
    return type(allowed.high)(allowed.high + (0 if allowed.high_open else 1))


def _declared(cls, table=None):
    import dataclasses

    from pixelcnn.coerce import allowed_for, field_default

    return [(f.name, allowed_for(f, table), field_default(f)) for f in dataclasses.fields(cls) if allowed_for(f, table)]


@pytest.mark.parametrize("section", ["train", "data"])
def test_every_declared_run_range_rejects_a_value_just_outside_it(section):
    from pixelcnn.config import SECTIONS

    declared = _declared(SECTIONS[section])
    assert len(declared) >= 4
    for name, allowed, default in declared:
        bad = _outside(allowed, default[0] if isinstance(default, tuple) else default)
        value = [bad] * len(default) if isinstance(default, tuple) else bad
        with pytest.raises(ConfigError, match=f"{section}.{name} must be"):
            from_dict({section: {name: value}})


@pytest.mark.parametrize("name", ["pixelcnn", "pixelcnn-seed", "gated-pixelcnn"])
def test_every_declared_model_range_rejects_a_value_just_outside_it(name):
    import pixelcnn
    from pixelcnn.models import preset_config
    from pixelcnn.models.config import FIELD_RANGES

    declared = _declared(type(preset_config(name)), FIELD_RANGES)
    assert len(declared) >= 8
    for field, allowed, default in declared:
        bad = _outside(allowed, default[0] if isinstance(default, tuple) else default)
        value = (bad,) * len(default) if isinstance(default, tuple) else bad
        with pytest.raises(ConfigError, match=f"{field} must be"):
            pixelcnn.create_model(name, **{field: value})
        with pytest.raises(ConfigError, match=f"model.{field} must be"):  # the run config, before any data
            resolve(None, [f"model.name={name}", f"model.{field}={list(value) if isinstance(value, tuple) else value}"])


def test_a_declared_range_is_also_checked_when_a_section_is_built_directly():
    from pixelcnn.config import TrainSection

    assert TrainSection(betas=[0.5, 0.6]).betas == (0.5, 0.6)  # normalised like a file's value
    with pytest.raises(ConfigError, match=r"train.betas must be in \[0, 1\), got \[0.5, 1.0\]"):
        TrainSection(betas=(0.5, 1.0))


@pytest.mark.parametrize("name", ["mnist5k", "cifar10-pp"])
def test_bundled_configs_resolve_and_build(name):
    from importlib import resources

    from pixelcnn.models import create_model

    cfg = resolve(str(resources.files("pixelcnn") / "configs" / f"{name}.yaml"), [])
    model = create_model(cfg.model.name, **cfg.model.overrides)
    assert cfg.train.max_steps > 0 and sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["data.levels=1000"], "data.levels = 1000: pixels have at most 256 levels; integer maps of more levels are "
                               "data.kind=codes"),
        (["data.levels=1"], r"data.levels must be 0 \(from the data\) or in \[2, 65536\], got 1"),
        (["data.levels=65537", "data.kind=codes"], r"data.levels must be in \[0, 65536\]"),
        (["data.kind=tokens"], "data.kind must be one of pixels, codes"),
        (["data.kind=codes", "data.channels=3"], "data.channels applies to pixels"),
        (["data.kind=codes", "data.levels=2", "data.binarize=static"], "data.binarize applies to pixels"),
        (["data.levels=4", "model.levels=16"], "model.levels = 16 conflicts with the data's 4 levels"),
        (["model.levels=16"], "model.levels = 16 conflicts with the data's 256 levels"),
        (["data.kind=codes", "data.levels=512", "model.levels=1024"], "conflicts with the data's 512 levels"),
    ],
)
def test_bad_data_kinds_and_levels_get_one_line(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve(None, overrides)


def test_levels_have_one_home_and_codes_say_whether_they_are_ordered():
    from pixelcnn.config import levels_ordered

    assert resolve(None, ["data.levels=16", "model.levels=16"]).model.overrides == {"levels": 16}  # agrees: kept
    assert resolve(None, ["data.kind=codes", "model.levels=16"]).data.levels == 0  # K is checked once read
    assert levels_ordered(resolve(None, []).data)
    assert not levels_ordered(resolve(None, ["data.kind=codes"]).data)
    assert levels_ordered(resolve(None, ["data.kind=codes", "data.ordered=true"]).data)


def test_a_data_section_saved_without_the_new_fields_loads_as_pixels():
    old = {"data": {"name": "mnist5k", "levels": 256, "binarize": "none"}}
    data = from_dict(old).data
    assert (data.kind, data.field, data.ordered, data.levels) == ("pixels", "", False, 256)


def test_seeds_beyond_what_torch_takes_are_one_clear_error(capsys):
    from pixelcnn.cli.main import main

    with pytest.raises(ConfigError, match=r"train.seed must be in \[0, 9223372036854775807\]"):
        resolve(None, [f"train.seed={2**64}"])
    assert resolve(None, [f"train.seed={2**63 - 1}"]).train.seed == 2**63 - 1
    for command in (["sample", "--checkpoint", "x", "--out", "x.png"], ["receptive-field"]):
        with pytest.raises(SystemExit) as exit:
            main([*command, "--seed", str(2**64)])
        assert exit.value.code == 2
        assert "must be in [0, 2**63)" in capsys.readouterr().err
