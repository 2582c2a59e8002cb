from skmcevae.__main__ import main


def test_demo_prints_mcevae_beside_kmeans(capsys):
    assert main(["demo", "--dataset", "digits", "--n-samples", "120", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "scikit-learn digits 8x8: 120 images" in out
    rows = [line for line in out.splitlines() if line.startswith(("MCEVAE", "KMeans"))]
    assert len(rows) == 2
    accuracy = float(rows[0].split()[1])
    assert 0 < accuracy <= 1
