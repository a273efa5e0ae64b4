SELECT (SELECT count(*) FROM "public"."posts" AS "t0" WHERE "t0"."published" IS TRUE) AS total, count("_pgrst_t")::int8 AS page, coalesce(json_agg("_pgrst_t"), '[]')::text AS body, NULL::text[] AS location FROM (SELECT "t0"."id" FROM "public"."posts" AS "t0" WHERE "t0"."published" IS TRUE LIMIT $1) AS "_pgrst_t"
-- args: [100]
