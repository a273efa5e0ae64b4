SELECT NULL::int8 AS total, count("_pgrst_t")::int8 AS page, coalesce(json_agg("_pgrst_t"."pgrst_scalar")->0, 'null')::text AS body, NULL::text[] AS location FROM (SELECT "t0"."pgrst_scalar" FROM "public"."echo"($1::jsonb) AS "t0"("pgrst_scalar") LIMIT $2) AS "_pgrst_t"
-- args: ["{\"anything\":1}",100]
