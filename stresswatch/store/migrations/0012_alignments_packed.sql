-- An alignment's rows packed into its own row (about 3.4 MB a year of daily runs less): the
-- statements and aggregates as JSON, zlib-compressed with the JSON of an earlier alignment (a
-- keyframe: `base` NULL) as preset dictionary, which repeats nearly all of it; `base` names that
-- keyframe. Alignments stored before this migration keep their rows in alignment_statements and
-- alignment_aggregates (packed NULL) and are read from there.
ALTER TABLE alignments ADD COLUMN packed BLOB;
ALTER TABLE alignments ADD COLUMN base TEXT REFERENCES alignments (asof);
