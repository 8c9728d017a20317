"""Reading plans: KPIs, comparisons, capacity answers and charts."""
