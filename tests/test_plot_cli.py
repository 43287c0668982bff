"""``symgrad plot KIND -o FILE``: files in each format, the plotted data, clear errors."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.pyplot as plt  # noqa: E402

import symgrad as sg  # noqa: E402
from symgrad.cli.main import main  # noqa: E402
from symgrad.cli.plot import XOR_X, XOR_Y  # noqa: E402

MAGIC = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}


@pytest.fixture
def figures(monkeypatch):
    """The figures the command drew (captured when it closes them)."""
    seen, close = [], plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (seen.append(fig), close(fig)))
    return seen


@pytest.mark.parametrize("argv,suffix", [
    (["activations", "--names", "tanh,relu"], ".png"),
    (["parity", "--bits", "2,4,8"], ".svg"),
    (["curve", "--xor", "--steps", "20"], ".pdf"),
    (["boundary", "--xor", "--steps", "20", "--grid", "15"], ".png"),
    (["landscape", "--xor", "--dims", "2", "--steps", "10", "--grid", "5"], ".svg"),
    (["universal", "--widths", "1,2", "--steps", "20"], ".pdf"),
])
def test_each_kind_writes_its_file_in_the_suffixs_format(tmp_path, capsys, argv, suffix):
    path = tmp_path / f"picture{suffix}"
    assert main(["plot", *argv, "-o", str(path)]) == 0
    assert path.read_bytes().startswith(MAGIC[suffix])
    assert capsys.readouterr().out.strip() == f"wrote {path}"


def lecture_xor(steps=400):
    net = sg.mlp([2, 4, 1], activation="tanh", loss="cross_entropy", seed=1)
    history = net.train(XOR_X, XOR_Y, lr=0.5, steps=steps, progress=False)
    return net, history


def test_boundary_draws_the_lecture_xor_net_which_separates_xor(tmp_path, figures):
    assert main(["plot", "boundary", "--xor", "--grid", "41", "-o", str(tmp_path / "b.png")]) == 0
    gx, gy, score = figures[-1].grid
    net, _ = lecture_xor()
    fw = net.forward(np.column_stack([gx.ravel(), gy.ravel()]), np.zeros((gx.size, 1)))
    expected = 1 / (1 + np.exp(-np.asarray(fw["yhat1"])))
    assert np.allclose(score.ravel(), expected)
    corners = {(round(x), round(y)): s for x, y, s in zip(gx.ravel(), gy.ravel(), score.ravel())
               if abs(x - round(x)) < 1e-9 and abs(y - round(y)) < 1e-9 and (round(x), round(y)) in
               {(0, 0), (0, 1), (1, 0), (1, 1)}}
    assert len(corners) == 4                    # the grid passes through the samples
    for (x, y), s in corners.items():
        assert (s > 0.5) == (x != y)            # XOR, classified right


def test_curve_is_the_training_history(tmp_path, figures):
    assert main(["plot", "curve", "--xor", "--steps", "60", "--lr", "0.3",
                 "-o", str(tmp_path / "c.png")]) == 0
    drawn = figures[-1].axes[0].lines[0].get_ydata()
    net = sg.mlp([2, 4, 1], activation="tanh", loss="cross_entropy", seed=1)
    assert np.allclose(drawn, net.train(XOR_X, XOR_Y, lr=0.3, steps=60, progress=False))


def test_landscape_centre_is_the_trained_nets_loss(tmp_path, figures):
    assert main(["plot", "landscape", "--sizes", "2,4,1", "--xor", "--dims", "2", "--grid", "5",
                 "-o", str(tmp_path / "l.png")]) == 0
    (a, b), losses = figures[-1].landscape
    assert losses.shape == (5, 5) and a[2] == 0 == b[2]
    net, history = lecture_xor()
    assert losses[2, 2] == pytest.approx(history[-1])
    assert losses.min() == pytest.approx(losses[2, 2], abs=0.05)   # trained: near the bottom


def test_parity_and_activations_take_their_options(tmp_path, figures):
    assert main(["plot", "parity", "--bits", "2,4,8", "-o", str(tmp_path / "p.png")]) == 0
    sizes = figures[-1].sizes
    assert [r["n"] for r in sizes] == [2, 4, 8] and sizes[-1]["shallow units"] == 128
    assert main(["plot", "activations", "--names", "sigmoid,elu", "--span", "2",
                 "-o", str(tmp_path / "a.png")]) == 0
    assert list(figures[-1].curves) == ["sigmoid", "elu"]
    assert figures[-1].curves["elu"][0][0] == -2.0


def test_data_from_a_csv_file(tmp_path, figures):
    csv = tmp_path / "and.csv"
    csv.write_text("# x1,x2,y\n0,0,0\n0,1,0\n1,0,0\n1,1,1\n")
    assert main(["plot", "boundary", "--data", str(csv), "--sizes", "2,3,1", "--grid", "11",
                 "-o", str(tmp_path / "and.png")]) == 0
    gx, gy, score = figures[-1].grid
    assert score[-1, -1] > 0.5 > score[0, 0]          # AND: only the top right corner


@pytest.mark.parametrize("argv,message", [
    (["activations"], "needs a file: add -o FILE"),
    (["activations", "-o", "act.jpg"], "use .png, .svg, .pdf"),
    (["activations", "-o", ""], "needs a file name"),
    (["parity", "--xor", "-o", "p.png"], "plot parity does not use --xor"),
    (["activations", "--dims", "2", "--bits", "3", "-o", "a.png"], "does not use --bits, --dims"),
    (["curve", "-o", "c.png"], "needs samples: --xor"),
    (["curve", "--xor", "--sizes", "3,2,1", "-o", "c.png"], "--sizes must be 2,...,1"),
    (["curve", "--xor", "--sizes", "2", "-o", "c.png"], "at least an input and an output"),
    (["curve", "--xor", "--steps", "-3", "-o", "c.png"], "--steps must be 0 or more"),
    (["curve", "--xor", "--lr", "0", "-o", "c.png"], "--lr must be a finite number > 0"),
    (["curve", "--xor", "--activation", "swish", "-o", "c.png"], "swish"),
    (["landscape", "--xor", "--dims", "3", "-o", "l.png"], "invalid choice: 3"),
    (["parity", "--bits", "1,4", "-o", "p.png"], "--bits must be whole numbers in 2..64"),
    (["parity", "--bits", "two", "-o", "p.png"], "comma-separated whole numbers"),
    (["universal", "--widths", "0", "-o", "u.png"], "--widths must be whole numbers in 1..256"),
    (["boundary", "--data", "missing.csv", "-o", "b.png"], "cannot read --data 'missing.csv'"),
    (["pie", "-o", "p.png"], "invalid choice: 'pie'"),
    (["curve", "--xor", "--data", "d.csv", "-o", "c.png"], "not allowed with argument"),
])
def test_bad_values_are_one_line_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["plot", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not list(tmp_path.glob("*.*")), "no file is written on an error"


def test_csv_with_the_wrong_columns(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("0,1\n1,0\n")
    assert main(["plot", "curve", "--data", "d.csv", "-o", "c.png"]) == 2
    assert "needs 2 inputs and 1 targets (3 columns)" in capsys.readouterr().err
    (tmp_path / "e.csv").write_text("0,1,a\n")
    assert main(["plot", "curve", "--data", "e.csv", "-o", "c.png"]) == 2
    assert "must be CSV numbers" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_help_lists_the_kinds_and_examples(capsys):
    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    out = capsys.readouterr().out
    assert "symgrad plot boundary --xor -o xor.png" in out
    for kind in ("activations", "landscape", "boundary", "curve", "universal", "parity"):
        assert kind in out


def test_console_command_writes_a_png(tmp_path):
    path = tmp_path / "act.png"
    run = subprocess.run([sys.executable, "-m", "symgrad", "plot", "activations", "-o", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert path.read_bytes().startswith(b"\x89PNG")


def test_readme_figures_script_regenerates_both_pictures(tmp_path):
    import pathlib
    script = pathlib.Path(__file__).resolve().parent.parent / "examples" / "figures.py"
    run = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                         text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    for name in ("activations.png", "loss_landscape.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    assert "landscape centre" in run.stdout
