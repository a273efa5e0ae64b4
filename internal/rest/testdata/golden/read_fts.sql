SELECT NULL::int8 AS total, count("_pgrst_t")::int8 AS page, coalesce(json_agg("_pgrst_t"), '[]')::text AS body, NULL::text[] AS location FROM (SELECT "t0"."id" FROM "public"."posts" AS "t0" WHERE "t0"."search" @@ to_tsquery($2::regconfig, $1::text) AND to_tsvector("t0"."body") @@ websearch_to_tsquery($3::text) LIMIT $4) AS "_pgrst_t"
-- args: ["engine","english","program",100]
