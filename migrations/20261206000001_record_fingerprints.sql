-- The fingerprint of the listing record a product was last read from: its exact bytes, seeded
-- with the mapping that read them. A full sync decodes only the records whose fingerprint
-- differs from the stored one; the rest are unchanged and cost one index lookup, no decoding.
-- Null until a listing writes the product (and after an event or a targeted sync wrote it, as
-- their bytes differ from the listing's); the next full sync fills it in.
alter table products add column record_fingerprint bytea;
