"""Looking inside a dataset or task: inspect, inspect_tasks, render (the terminal tables) and report
(the HTML page)."""
