-- Prepared results compressed once at finalize: raw DEFLATE ended by a sync flush, with the
-- CRC-32 and length of the uncompressed bytes, so a reply to a client that accepts gzip is spliced
-- from stored bytes. NULL for analyses finalized before this migration (served uncompressed).
ALTER TABLE analysis_results ADD COLUMN prepared_deflate BYTEA;
ALTER TABLE analysis_results ADD COLUMN prepared_crc32 BIGINT;
ALTER TABLE analysis_results ADD COLUMN prepared_length BIGINT;
-- Results are read far more often than written: keep them out of TOAST's pglz compression, so a
-- read is a copy rather than a decompression (the deflate copy would not compress anyway).
ALTER TABLE analysis_results ALTER COLUMN prepared SET STORAGE EXTERNAL;
ALTER TABLE analysis_results ALTER COLUMN prepared_deflate SET STORAGE EXTERNAL;
