import pytest

from skmcevae import MCEVAE
from skmcevae.__main__ import PICTURES, main
from skmcevae.datasets import load_digits_images, random_poses
from skmcevae.metrics import clustering_accuracy


def test_demo_prints_mcevae_beside_kmeans_and_writes_pictures(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "pictures"
    assert main(["demo", "--dataset", "digits", "--n-samples", "120", "--epochs", "1",
                 "--output-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "scikit-learn digits 8x8: 120 images" in out
    assert "epoch 1/1 loss=" in out  # progress by default
    assert out.index("epoch 1/1") < out.index("method ")  # the table after the fits
    rows = [line for line in out.splitlines() if line.startswith(("MCEVAE", "KMeans"))]
    assert len(rows) == 2
    # The printed accuracy is that of the same fit made here.
    X, y = load_digits_images(random_state=0)
    X, _ = random_poses(X[:120], "SO2", random_state=0)
    labels = MCEVAE(group="SO2", random_state=0, max_epochs=1).fit_predict(X)
    assert rows[0].split()[1] == f"{clustering_accuracy(y[:120], labels):.3f}"
    assert sorted(p.name for p in folder.iterdir()) == sorted(PICTURES)
    assert all(p.stat().st_size > 5000 for p in folder.iterdir())
    assert f"pictures written to {folder}/" in out


def test_demo_without_pictures_writes_nothing(capsys, tmp_path):
    folder = tmp_path / "none"
    assert main(["demo", "--dataset", "digits", "--n-samples", "60", "--epochs", "1",
                 "--output-dir", str(folder), "--no-pictures"]) == 0
    assert not folder.exists() and "pictures" not in capsys.readouterr().out


def test_demo_help_names_its_options(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = capsys.readouterr().out
    for option in ("--dataset", "--group", "--epochs", "--output-dir"):
        assert option in out
