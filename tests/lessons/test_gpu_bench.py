"""The gpu benchmark suite: on a machine without a GPU it says why and exits cleanly;
its table shows the fractions the DESIGN.md targets are stated in."""
import pytest

from lessons.bench.suites import gpu


def test_without_a_gpu_it_skips_with_a_reason(capsys):
    reason = gpu.skip_reason()
    if reason is None:
        pytest.skip("a GPU is present: the skip path cannot be seen here")
    assert gpu.main(["--out", "unused"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gpu: skipped: ") and reason in out


def test_rows_report_bandwidth_as_a_fraction_of_the_copy():
    # 1 GB moved in 1 ms is 1000 GB/s; against a 2000 GB/s copy that is 50%
    row = gpu._row("k", ms=1.0, gbytes=1.0, copy_gbs=2000.0)
    assert row["GB/s"] == pytest.approx(1000.0) and row["of copy"] == pytest.approx(0.5)
    row = gpu._row("mm", ms=2.0, flops=4e9)         # 4 GFLOP in 2 ms
    assert row["TFLOP/s"] == pytest.approx(2.0)


def test_markdown_table_has_one_line_per_row():
    result = {"elements": 2**26, "copy_GB/s": 3000.0, "environment": {"gpu": "Test GPU"},
              "rows": [gpu._row("relu_fwd", 0.2, 0.5, copy_gbs=3000.0),
                       {"name": "kernel launch (host time, one element)", "us": 4.5}]}
    text = gpu.format_markdown(result)
    lines = text.splitlines()
    assert "Test GPU" in lines[0] and "64M" in lines[0]
    assert lines[-2].startswith("| relu_fwd | 0.200 | 2500 | 83% |")
    assert "4.5 µs" in lines[-1]
