-- The compute step's state: what the stress index knew about each business day of its grid when
-- it was last computed (as of `asof`), so the next day's compute ranks the new day against it
-- instead of recomputing 25 years. A cache: a cold compute rebuilds it, nothing else reads it.

CREATE TABLE compute_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),  -- one state per store
    asof        TEXT NOT NULL,       -- the as-of date the arrays describe (their last grid day)
    grid_start  TEXT NOT NULL,       -- first business day of the grid
    fingerprint TEXT NOT NULL,       -- code, settings and input series that produced it
    started_at  TEXT NOT NULL,       -- when that compute began reading (rows written since are news)
    written_at  TEXT NOT NULL
);

-- One float64 array per name (measure:<segment>:<id>, beside:<segment>:<id>, segment:<name>,
-- index): one value per business day from grid_start to asof, NaN = missing.
CREATE TABLE compute_state_arrays (
    name   TEXT PRIMARY KEY,
    length INTEGER NOT NULL,
    data   BLOB NOT NULL
);

-- Observations deleted (before `reparse` rebuilds a source with the original fetch times): a
-- later compute cannot see a deleted row, so it learns of the deletion here.
CREATE TABLE observation_deletions (
    id         INTEGER PRIMARY KEY,
    source     TEXT NOT NULL,
    rows       INTEGER NOT NULL,
    deleted_at TEXT NOT NULL
);
