-- A full sync reads Medusa's products in pages and finds each one's link by its Medusa id.
create index medusa_links_medusa_product_idx on medusa_links (medusa_product_id);
