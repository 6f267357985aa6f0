"""Prints the summary table of bench_spectrum.py at the end of a pytest run."""


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    table = getattr(config, "rfdiff_bench_table", None)
    if table:
        terminalreporter.section("rfdiff density benchmark")
        for line in table.splitlines():
            terminalreporter.write_line(line)
