insert into medusa_sink default values on conflict do nothing
