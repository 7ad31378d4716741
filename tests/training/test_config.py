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
