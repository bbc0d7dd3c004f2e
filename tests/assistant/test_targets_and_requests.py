"""Targets as data and revision requests in words."""

from __future__ import annotations

import pytest

from burnish.assistant.decide import Adjustments
from burnish.assistant.requests import parse_request
from burnish.assistant.targets import available_targets, custom_target, load_target
from burnish.errors import ParameterError, TargetError

REQUIRED = {
    "spotify": (-14.0, -1.0), "apple": (-16.0, -1.0), "youtube": (-14.0, -1.0),
    "amazon": (-14.0, -2.0), "tidal": (-14.0, -1.0), "deezer": (-15.0, -1.0),
    "cd": (-9.0, -0.3), "club": (-8.0, -0.3), "broadcast": (-23.0, -1.0),
    "atsc": (-24.0, -2.0), "podcast": (-16.0, -1.0), "audiophile": (-18.0, -1.0),
}


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_destination_has_its_numbers_and_a_source(name: str) -> None:
    t = load_target(name)
    assert (t.integrated_lufs, t.ceiling_dbtp) == REQUIRED[name]
    assert len(t.source) > 20


def test_podcast_mono_is_three_lu_lower() -> None:
    t = load_target("podcast")
    assert t.loudness_for(2) == -16.0
    assert t.loudness_for(1) == -19.0


def test_aliases_and_unknown_target() -> None:
    assert load_target("streaming").name == "spotify"
    assert load_target("loud").name == "cd"
    assert load_target("dynamic").name == "audiophile"
    with pytest.raises(TargetError, match="unknown target 'nope'"):
        load_target("nope")


def test_custom_numbers_always_win() -> None:
    t = custom_target(lufs=-11.5, ceiling_dbtp=-0.5, base=load_target("apple"))
    assert (t.integrated_lufs, t.ceiling_dbtp) == (-11.5, -0.5)
    with pytest.raises(TargetError, match="ceiling_dbtp=3.0"):
        custom_target(lufs=None, ceiling_dbtp=3.0)


def test_user_targets_from_a_folder(tmp_path, monkeypatch) -> None:
    (tmp_path / "radio.toml").write_text(
        'name = "radio"\nintegrated_lufs = -12.0\nceiling_dbtp = -1.5\nsource = "our station"\n')
    monkeypatch.setenv("BURNISH_TARGETS_DIR", str(tmp_path))
    assert "radio" in available_targets()
    assert load_target("radio").ceiling_dbtp == -1.5
    (tmp_path / "bad.toml").write_text('integrated_lufs = -12.0\nceiling = 1\n')
    with pytest.raises(TargetError, match="unknown key 'ceiling'"):
        load_target(str(tmp_path / "bad.toml"))


def test_requests_in_words() -> None:
    adj = parse_request("a bit brighter and less squashed")
    assert adj.brightness_db == pytest.approx(0.75)
    assert adj.compression == pytest.approx(-0.5)
    adj = parse_request("Much more bass, slightly louder!")
    assert adj.bass_db == pytest.approx(3.0)
    assert adj.loudness_lu == pytest.approx(0.5)
    assert parse_request("less bright").brightness_db < 0
    with pytest.raises(ParameterError, match="can't understand"):
        parse_request("make it pop like the radio")


def test_adjustments_add_up() -> None:
    a = Adjustments(brightness_db=1.0).plus(Adjustments(brightness_db=0.5, bass_db=-1))
    assert a == Adjustments(brightness_db=1.5, bass_db=-1.0)
