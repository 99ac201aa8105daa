-- Prepared results compressed once more with brotli (quality 11), in the background after
-- finalize: a catable stream (src/format/brotli_splice.rs) spliced into `br` replies. NULL until
-- it is made; gzip is sent meanwhile.
ALTER TABLE analysis_results ADD COLUMN prepared_brotli BYTEA;
ALTER TABLE analysis_results ALTER COLUMN prepared_brotli SET STORAGE EXTERNAL;
