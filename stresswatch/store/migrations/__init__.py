"""SQL migrations, applied in name order by Store.open."""
