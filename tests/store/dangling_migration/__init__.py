"""A migration package with one bad migration (it deletes rows other tables reference), for the
test that the store rolls such a migration back (tests/store/test_database.py)."""
