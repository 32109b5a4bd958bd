-- The compute step's state: what the stress index knew about each business day of its grid when
-- it was last computed (as of `asof`), so the next day's compute ranks the new day against it
-- instead of recomputing 25 years. A cache: a cold compute rebuilds it, nothing else reads it.

CREATE TABLE compute_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),  -- one state per store
    asof        TEXT NOT NULL,       -- the as-of date the arrays describe (their last grid day)
    grid_start  TEXT NOT NULL,       -- first business day of the grid
    fingerprint TEXT NOT NULL,       -- code, settings and input series that produced it
    inputs      TEXT NOT NULL,       -- JSON: per input series, rows known by asof and their value total
    started_at  TEXT NOT NULL,       -- when that compute began reading (rows fetched since are news)
    written_at  TEXT NOT NULL
);

-- One float64 array per name (measure:<segment>:<id>, beside:<segment>:<id>, segment:<name>,
-- index): one value per business day from grid_start to asof, NaN = missing.
CREATE TABLE compute_state_arrays (
    name   TEXT PRIMARY KEY,
    length INTEGER NOT NULL,
    data   BLOB NOT NULL
);
