"""Pure Python, no numpy or torch: windows, layouts, reductions and the steps of a chain."""
