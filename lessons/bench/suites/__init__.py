"""The built-in benchmark suites, one module each; a module registers its suite when it
is imported (``lessons.bench.registry`` imports it when the suite is first asked for)."""
