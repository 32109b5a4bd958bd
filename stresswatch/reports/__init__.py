"""The daily report: context (plain data for one date), charts (matplotlib), render (Jinja2 HTML/Markdown, JSON), archive index."""
