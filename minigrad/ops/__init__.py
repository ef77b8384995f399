"""The differentiable operations, one `Function` each, grouped by kind."""
