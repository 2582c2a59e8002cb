"""``python -m skmcevae cluster``: from image files to clusters, poses and a model."""

import csv

import joblib
import numpy as np
import pytest

from skmcevae.__main__ import main

Image = pytest.importorskip("PIL.Image")  # the images extra, part of the test extra

SIDE = 16
TINT = np.array([1.0, 0.6, 0.3])  # the colour of the colour files
QUICK = ["--n-clusters", "2", "--epochs", "1", "--seed", "0"]


def _drawing(kind, turns, brightness):
    """A bar or a square ring, turned by quarter turns."""
    picture = np.zeros((SIDE, SIDE))
    if kind == 0:
        picture[6:10, 2:14] = brightness
    else:
        picture[3:13, 3:13] = brightness
        picture[5:11, 5:11] = 0
    return np.rot90(picture, turns)


def _pictures(n=40):
    """uint8 pictures, (H, W) grey or, one in five, (H, W, 3) colour."""
    rng = np.random.default_rng(0)
    grey = [_drawing(i % 2, rng.integers(4), rng.uniform(0.6, 1.0)) for i in range(n)]
    return [np.round(255 * (g[..., None] * TINT if i % 5 == 0 else g)).astype(np.uint8)
            for i, g in enumerate(grey)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """40 PNG files and the (40, 16, 16, 3) array in [0, 1] they should be read as."""
    path = tmp_path_factory.mktemp("pictures")
    pictures = _pictures()
    for i, picture in enumerate(pictures):
        Image.fromarray(picture).save(path / f"shape{i:02d}.png")
    colour = [p if p.ndim == 3 else np.repeat(p[..., None], 3, axis=-1) for p in pictures]
    return path, np.stack(colour) / 255.0


def _rows(out):
    with open(out / "clusters.csv", newline="") as file:
        reader = csv.reader(file)
        return next(reader), list(reader)


def test_a_folder_of_files_gives_clusters_poses_and_a_model(folder, tmp_path, capsys):
    path, X = folder
    out = tmp_path / "result"
    assert main(["cluster", str(path), *QUICK, "--out", str(out), "--no-pictures"]) == 0
    printed = capsys.readouterr().out
    assert (f"read 40 images of 16x16 pixels, 3 channels, from {path} "
            f"(array (40, 16, 16, 3), (n, H, W, C))") in printed
    assert "epoch 1/1" in printed  # --verbose 1 by default
    header, rows = _rows(out)
    assert header == ["file", "cluster", "probability", "angle_deg"]
    assert [row[0] for row in rows] == [f"shape{i:02d}.png" for i in range(40)]
    model = joblib.load(out / "model.joblib")
    assert model.image_shape_ == (3, 16, 16) and model.rotation_range == 180
    proba = model.predict_proba(X)
    np.testing.assert_array_equal([int(row[1]) for row in rows], model.predict(X))
    np.testing.assert_allclose([float(row[2]) for row in rows], proba.max(1), rtol=1e-5)
    assert all(0.5 <= float(row[2]) <= 1 for row in rows)
    np.testing.assert_allclose([float(row[3]) for row in rows],
                               model.predict_pose(X)[:, 0], rtol=1e-5, atol=1e-4)
    assert (f"wrote {out / 'clusters.csv'}: 40 rows (pose: angle_deg: degrees "
            f"counter-clockwise); images per cluster") in printed
    assert not (out / "canonical_by_cluster.png").exists()


def test_a_channels_last_array_with_pictures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    pictures = np.stack([p if p.ndim == 3 else np.stack([p] * 3, axis=-1)
                         for p in _pictures(30)])  # (30, 16, 16, 3) uint8
    np.save(tmp_path / "images.npy", pictures)
    out = tmp_path / "result"
    assert main(["cluster", str(tmp_path / "images.npy"), *QUICK, "--group", "se2",
                 "--verbose", "0", "--out", str(out)]) == 0
    header, rows = _rows(out)
    assert header == ["index", "cluster", "probability", "angle_deg", "shift_x_px",
                      "shift_y_px"]
    assert [int(row[0]) for row in rows] == list(range(30))
    model = joblib.load(out / "model.joblib")
    assert model.group == "SE2" and model.sample(1)[0].shape == (1, 16, 16, 3)
    np.testing.assert_array_equal([int(row[1]) for row in rows],
                                  model.predict(pictures / 255.0))
    drawn = {"canonical_by_cluster.png", "reconstructions.png", "samples.png",
             "latent.png", "history.png"}
    assert {p.name for p in out.glob("*.png")} == drawn
    for name in drawn:
        with Image.open(out / name) as picture:
            pixels = np.asarray(picture.convert("L"), dtype=float)
        assert picture.size[0] > 200 and pixels.std() > 10, name
    printed = capsys.readouterr().out
    assert (f"(pose: angle_deg, shift_x_px, shift_y_px: degrees counter-clockwise, "
            f"pixels right and down)") in printed  # SE2 has no size factor
    assert f"pictures written to {out}/" in printed


def test_files_of_different_sizes_are_refused(tmp_path, capsys):
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((16, 20), np.uint8)).save(tmp_path / "b.png")
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(tmp_path / "c.png")
    out = tmp_path / "result"
    assert main(["cluster", str(tmp_path), *QUICK, "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "a.png is 16x16 pixels and b.png is 20x16 (width x height)" in error
    assert "not resized" in error and not out.exists()


def test_an_empty_folder_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not an image")
    assert main(["cluster", str(tmp_path), *QUICK, "--out", str(tmp_path / "o")]) == 1
    assert "holds no PNG, TIFF or JPEG files" in capsys.readouterr().err


def test_floats_beyond_one_point_to_the_gaussian_likelihood(tmp_path, capsys):
    X = np.random.default_rng(0).random((10, 16, 16)) * 2
    X[0, 0, 0] = 2.0
    np.save(tmp_path / "x.npy", X)
    assert main(["cluster", str(tmp_path / "x.npy"), *QUICK,
                 "--out", str(tmp_path / "o")]) == 1
    error = capsys.readouterr().err
    assert "values in [" in error and ", 2], but" in error
    assert "--likelihood gaussian" in error and not (tmp_path / "o").exists()
    assert main(["cluster", str(tmp_path / "x.npy"), *QUICK, "--out",
                 str(tmp_path / "o"), "--likelihood", "gaussian", "--verbose", "0",
                 "--no-pictures"]) == 0


def test_cluster_help_names_its_options(capsys):
    with pytest.raises(SystemExit):
        main(["cluster", "--help"])
    out = capsys.readouterr().out
    for option in ("--n-clusters", "--group", "--rotation-range", "--epochs", "--seed",
                   "--out", "--no-pictures", "--verbose", "--likelihood",
                   "default 180: the full circle"):
        assert option in out
