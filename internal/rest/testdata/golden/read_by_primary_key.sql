SELECT NULL::int8 AS total, count("_pgrst_t")::int8 AS page, coalesce(json_agg("_pgrst_t"), '[]')::text AS body, NULL::text[] AS location FROM (SELECT "t0"."id", "t0"."name" FROM "public"."authors" AS "t0" WHERE "t0"."id" = $1 LIMIT $2) AS "_pgrst_t"
-- args: ["1",100]
