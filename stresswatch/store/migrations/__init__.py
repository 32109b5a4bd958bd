"""SQL migrations, applied in name order by Store.open (file names are recorded in
`schema_migrations`: never rename one)."""
