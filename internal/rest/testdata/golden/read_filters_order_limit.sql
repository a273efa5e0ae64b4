SELECT NULL::int8 AS total, count("_pgrst_t")::int8 AS page, coalesce(json_agg("_pgrst_t"), '[]')::text AS body, NULL::text[] AS location FROM (SELECT "t0"."id", "t0"."title" FROM "public"."posts" AS "t0" WHERE "t0"."published" IS TRUE AND "t0"."title" ILIKE $1 ORDER BY "t0"."rating" DESC NULLS LAST, "t0"."id" ASC LIMIT $2 OFFSET $3) AS "_pgrst_t"
-- args: ["%e%",10,5]
