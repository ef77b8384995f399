"""The differentiable operations, one `Op` each, grouped by kind."""
